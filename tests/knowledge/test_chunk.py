"""Chunking by structure: heading paths for citations, a token budget with overlap, whole sentences."""

from knowledge.chunk import chunk, count_tokens, normalize


def test_sections_keep_their_heading_path_and_are_never_merged():
    text = normalize("# Returns\n\nThirty days.\n\n## Refunds\n\nFive days.\n\n# Shipping\n\nWorldwide.")
    pieces = chunk(text, size=100, overlap=10)
    assert [(p.heading, p.text) for p in pieces] == [
        ("Returns", "Thirty days."),
        ("Returns › Refunds", "Five days."),
        ("Shipping", "Worldwide."),
    ]


def test_long_sections_are_cut_to_the_budget_with_overlap_at_sentence_boundaries():
    sentences = [f"Step {i} of the descaling guide uses citric acid and warm water." for i in range(60)]
    pieces = chunk(normalize("# Descaling\n\n" + " ".join(sentences)), size=80, overlap=15)
    assert len(pieces) > 5
    for piece in pieces:
        assert piece.heading == "Descaling"
        assert piece.tokens == count_tokens(piece.text) <= 80 + 15
        assert "\n" not in piece.text  # one paragraph stays one paragraph
    for before, after in zip(pieces, pieces[1:], strict=False):
        assert before.text[-20:] in after.text  # the cut is repeated at the start of the next chunk
    assert all(s in " ".join(p.text for p in pieces) for s in sentences)


def test_normalise_removes_invisible_characters_and_joins_hyphenated_pdf_lines():
    assert normalize("re-\nfund\u200b  policy\r\n\r\n\r\n\ufeffNext") == "refund policy\n\nNext"
