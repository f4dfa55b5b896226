"""Retrieval quality on a small labelled set: questions → the article that answers them.

Reports recall@3 for full-text, vector and hybrid search (fake word-hashing embeddings) and
holds each at the level measured when this test was written, so a change that makes answers
harder to find fails here.
"""

from __future__ import annotations

import pytest

from knowledge import services
from knowledge.models import KnowledgeBase
from knowledge.retrieval import retrieve

pytestmark = pytest.mark.django_db

ARTICLES = {
    "Shipping times": "Orders leave the warehouse within one business day. Standard delivery takes two to four days; "
    "express delivery arrives the next working day if you order before 2 pm.",
    "International shipping": "We deliver to Canada, Brazil, Japan and every country of the European Union. Import "
    "duties and taxes outside the EU are paid by the recipient when the parcel arrives.",
    "Returns": "Unused products can be sent back within thirty days of delivery. Print the prepaid label from your "
    "account and drop the parcel at any post office.",
    "Refunds": "Once the returned parcel reaches our depot we refund the original payment method. The money appears "
    "on your card statement within five business days.",
    "Warranty": "Every appliance carries a two-year warranty against manufacturing defects. Keep the receipt and the "
    "serial number printed under the base: we need both to accept a claim.",
    "Opening hours": "The Lisbon flagship store is open Monday to Saturday from 9:00 to 20:00. On Sundays and public "
    "holidays it opens at 10:00 and closes at 14:00.",
    "Payment methods": "We accept Visa, Mastercard, American Express, PayPal and MB Way. Invoices for businesses can be "
    "paid by bank transfer within thirty days.",
    "Order tracking": "A tracking link is emailed as soon as the courier collects your parcel. Tracking updates can "
    "take up to 24 hours to appear.",
    "Damaged items": "If an item arrives broken, photograph the packaging and the damage and contact support within "
    "48 hours. We send a replacement at no cost.",
    "Gift cards": "Gift cards are sold in amounts from 10 to 500 euros, never expire and can be spent online or in "
    "the store. They cannot be exchanged for cash.",
    "Descaling": "Descale your espresso machine every month using citric acid. Run two full tanks of clean water "
    "afterwards to rinse the pipes.",
    "Account and password": "To reset your password, choose Forgot password on the sign-in page and follow the link "
    "we email you. The link is valid for one hour.",
}

QUESTIONS = [
    ("how long does standard delivery take", "Shipping times"),
    ("will my order arrive tomorrow if I choose express", "Shipping times"),
    ("do you ship to Japan", "International shipping"),
    ("who pays customs duties for deliveries outside the EU", "International shipping"),
    ("can I send back a product I did not use", "Returns"),
    ("where do I get a return label", "Returns"),
    ("when will I get my money back", "Refunds"),
    ("how many days until the refund shows on my card", "Refunds"),
    ("what does the warranty cover", "Warranty"),
    ("where is the serial number", "Warranty"),
    ("what time does the Lisbon store open on Sunday", "Opening hours"),
    ("are you open on public holidays", "Opening hours"),
    ("can I pay with PayPal", "Payment methods"),
    ("can my company pay by bank transfer", "Payment methods"),
    ("where is my parcel, how do I track it", "Order tracking"),
    ("the tracking link shows nothing yet", "Order tracking"),
    ("my kettle arrived broken", "Damaged items"),
    ("what should I do with a damaged item", "Damaged items"),
    ("do gift cards expire", "Gift cards"),
    ("can I exchange a gift card for cash", "Gift cards"),
    ("how often should I descale the coffee machine", "Descaling"),
    ("what do I use to remove limescale", "Descaling"),
    ("I forgot my password", "Account and password"),
    ("the reset link stopped working", "Account and password"),
]

# Measured with the fake embeddings when this test was written (the printed report):
# recall@3 fulltext 1.0, vector 0.875, hybrid 1.0; recall@1 fulltext 0.917, vector 0.708, hybrid 0.875.
# Floors leave one question of slack.
FLOOR = {"fulltext": 0.95, "vector": 0.83, "hybrid": 0.95}


@pytest.fixture
def help_center(workspace, fake_openai):
    kb = KnowledgeBase.objects.create(workspace=workspace, name="Help", embedding_dimension=384)
    for title, text in ARTICLES.items():
        doc = services.document_add_text(kb=kb, title=title, text=text)
        assert services.document_ingest(doc.pk) == "ingested"
    return kb


METHODS = {"fulltext": ("fulltext",), "vector": ("vector",), "hybrid": ("vector", "fulltext")}


def recall_at(kb: KnowledgeBase, methods: tuple[str, ...], k: int) -> float:
    found = 0
    for question, title in QUESTIONS:
        hits = retrieve([kb.pk], question, top_k=k, methods=methods)
        found += any(hit.document_title == title for hit in hits)
    return found / len(QUESTIONS)


def test_recall_at_3_of_full_text_vector_and_hybrid_search(help_center, capsys):
    recall = {name: recall_at(help_center, methods, 3) for name, methods in METHODS.items()}
    first = {name: round(recall_at(help_center, methods, 1), 3) for name, methods in METHODS.items()}
    with capsys.disabled():
        print(f"\nrecall@3 on {len(QUESTIONS)} questions: {recall}; recall@1: {first}")
    for method, floor in FLOOR.items():
        assert recall[method] >= floor, (method, recall)
    # The fake's vectors are word hashes (no meaning), and chunks sharing only some of the words
    # count half in the fusion, so hybrid's first answer trails full text's by at most two here;
    # the labelled set of bench/retrieval.py measures the real model.
    assert first["hybrid"] >= first["fulltext"] - 2 / len(QUESTIONS) and first["hybrid"] > first["vector"]
