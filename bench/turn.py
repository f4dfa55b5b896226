"""The dialogue engine's own time per turn, and the local classifier's speed.

Starts embedded Postgres + Redis and the fake OpenAI server (in its own process, with a fixed
time to first token), seeds the demo bot with a small full-text knowledge base, then runs
turns through `dialogue.turn.run_turn` in this process: intent classification, the entry
flow's intent router, retrieval, the LLM node streaming from the fake, escalation checks,
the Redis lock and session state, and the stored messages / trace / LLM call rows.

Overhead per turn = wall time of the whole turn (first call to the generator's end, storage
included) minus the fake's injected time to first token. Measured with 1 conversation (turns
one after another) and with 100 conversations sending at once, in ROUNDS rounds of 100 new
conversations. CPU per turn = CPU seconds this process used (event loop, ORM threads, the
OpenAI and Redis clients) during a round's turns (its conversations are started before),
divided by its turns: on a shared machine it is the figure that does not move with the load.
The headline is the median of the rounds, so that no single round makes the figure, and every
round is printed. The fake's answers are short (~25 words) and sent all at once; a second fake
then answers every turn of more conversations with 100 words, one every 20 ms as a model writes
them, and the CPU per such turn is printed too: a reply streamed word by word costs each word's
trip through the stack.
Queries per turn are counted on a conversation's later turns (Django's `CaptureQueriesContext`,
the turn driven from sync code so its ORM work runs on this thread).
Then classifications per second of the local intent classifier on one core.

Run from the repository root: `.venv/bin/python bench/turn.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402
from support import bench_services, cpu_s, fake_openai, freeze_heap, pct, setup_django, start_fake  # noqa: E402

TTFT_S = 0.05
TURNS_SEQUENTIAL = 40
CONCURRENT = 100
TURNS_EACH = 3
ROUNDS = 5
STREAMED_ROUNDS = 3
STREAMED_WORDS = 100
WORD_INTERVAL_S = 0.02
QUESTIONS = [
    "how long do I have to return an item?",
    "how long does express shipping take",
    "do you ship to Canada?",
]
ARTICLES = [
    ("Returns policy", "You can return any item within 30 days of delivery for a full refund."),
    ("Shipping times", "Standard shipping takes 3 to 5 business days. Express shipping takes 1 day."),
    ("International", "We ship to Canada, Mexico and most of Europe. Duties are paid on delivery."),
]


def seed():
    setup_django()
    from bots import demo
    from bots.models import Bot, Workspace
    from knowledge.models import KnowledgeBase
    from knowledge.services import document_add_text, document_ingest

    workspace = Workspace.objects.create(name="Bench", slug="bench")
    bot = Bot.objects.create(workspace=workspace, name="Acme Support", slug="acme-support")
    kb = KnowledgeBase.objects.create(workspace=workspace, name=demo.KNOWLEDGE_BASE, embedding_provider="none")
    for title, text in ARTICLES:
        document_ingest(document_add_text(kb=kb, title=title, text=text).pk)
    snapshot = demo.definition(bot_id=bot.id).model_copy(update={"knowledge_bases": [{"id": kb.id, "name": kb.name}]})
    return bot, snapshot


async def one_turn(conversation_id: int, snapshot, text: str) -> float:
    from dialogue.events import Inbound
    from dialogue.turn import run_turn

    t0 = time.perf_counter()
    events = [e async for e in run_turn(conversation_id, snapshot, Inbound(kind="text", text=text))]
    elapsed = time.perf_counter() - t0
    assert any(e.type == "message" for e in events), events
    return (elapsed - TTFT_S) * 1000


async def sequential(bot, snapshot) -> list[float]:
    from asgiref.sync import sync_to_async

    from conversations.services import conversation_start

    conv = await sync_to_async(conversation_start)(bot=bot)
    for i in range(3):  # warm-up: imports, connections, the classifier
        await one_turn(conv.pk, snapshot, QUESTIONS[i % len(QUESTIONS)])
    return [await one_turn(conv.pk, snapshot, QUESTIONS[i % len(QUESTIONS)]) for i in range(TURNS_SEQUENTIAL)]


async def conversations(bot) -> list:
    from asgiref.sync import sync_to_async

    from conversations.services import conversation_start

    return [await sync_to_async(conversation_start)(bot=bot) for _ in range(CONCURRENT)]


async def concurrent(convs, snapshot) -> list[float]:
    async def talk(conv) -> list[float]:
        return [await one_turn(conv.pk, snapshot, QUESTIONS[i % len(QUESTIONS)]) for i in range(TURNS_EACH)]

    results = await asyncio.gather(*(talk(c) for c in convs))
    return [x for r in results for x in r]


def queries_per_turn(bot, snapshot) -> float:
    from asgiref.sync import async_to_sync
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conversations.services import conversation_start

    conv = conversation_start(bot=bot)
    async_to_sync(one_turn)(conv.pk, snapshot, QUESTIONS[0])  # the first reads the contact's memory
    with CaptureQueriesContext(connection) as queries:
        for i in range(len(QUESTIONS)):
            async_to_sync(one_turn)(conv.pk, snapshot, QUESTIONS[i])
    return len(queries) / len(QUESTIONS)


def classifier_rate(snapshot) -> float:
    from dialogue import nlu

    clf = nlu.load(nlu.train(snapshot.intents))
    texts = ["where is my order", "please cancel it", "how long does shipping take", "I want a human", "hello"] * 400
    clf.classify("warm up")
    t0 = time.perf_counter()
    for text in texts:
        clf.classify(text)
    return len(texts) / (time.perf_counter() - t0)


def main() -> None:
    with bench_services("turn", PYTHONUNBUFFERED="1") as env:
        fakes = []
        try:
            fake, fake_url = start_fake(fake_openai(TTFT_S), env)
            streaming, streaming_url = start_fake(
                fake_openai(TTFT_S, words=STREAMED_WORDS, word_interval=WORD_INTERVAL_S), env
            )
            fakes += [fake, streaming]
            os.environ |= {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake_url}
            bot, snapshot = seed()
            from django.conf import settings

            freeze_heap()  # the engine runs here as in a web process, under the same collector policy

            async def rounds(n: int, llm) -> tuple[list[float], list[list[float]]]:
                """The turns' overheads, and per round: CPU ms per turn of this process and of the
                fake `llm`, and wall seconds."""
                overheads, costs = [], []
                for _ in range(n):
                    convs = await conversations(bot)  # opened before the count: a start is not a turn
                    before = (time.process_time(), cpu_s(llm.pid), time.perf_counter())
                    these = await concurrent(convs, snapshot)
                    after = (time.process_time(), cpu_s(llm.pid), time.perf_counter())
                    overheads += these
                    engine, fake_llm, wall = (b - a for a, b in zip(before, after, strict=True))
                    costs.append([engine * 1000 / len(these), fake_llm * 1000 / len(these), wall])
                return overheads, costs

            async def run_all():
                one = await sequential(bot, snapshot)
                hundred, costs = await rounds(ROUNDS, fake)
                settings.OPENAI_BASE_URL = streaming_url  # the gateway's client follows the setting
                _, streamed_costs = await rounds(STREAMED_ROUNDS, streaming)
                return one, hundred, costs, streamed_costs

            # The event loop the server runs (uvicorn picks uvloop when it is installed, as it is).
            one, hundred, costs, streamed_costs = uvloop.run(run_all())
            settings.OPENAI_BASE_URL = fake_url
            queries = queries_per_turn(bot, snapshot)
            rate = classifier_rate(snapshot)
        finally:
            for process in fakes:
                process.terminate()
                process.wait(timeout=15)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nDialogue turn overhead (wall time minus the fake LLM's {TTFT_S * 1000:.0f} ms to first token)")
    print(f"machine load average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} cores")
    print(f"{'conversations':>13} | {'turns':>5} | {'p50':>9} | {'p95':>9}")
    for n, values in ((1, one), (CONCURRENT, hundred)):
        print(f"{n:>13} | {len(values):>5} | {pct(values, 50):>6.1f} ms | {pct(values, 95):>6.1f} ms")
    print(
        f"\n{CONCURRENT} conversations at once, {CONCURRENT * TURNS_EACH} turns a round; CPU per turn of this "
        "process (engine, Postgres client, ORM threads) and of the fake LLM server"
    )
    print(f"{'round':>5} | {'wall':>6} | {'CPU per turn':>12} | {'fake LLM':>8}")
    for i, (engine, fake_llm, wall) in enumerate(costs, 1):
        print(f"{i:>5} | {wall:>4.1f} s | {engine:>9.2f} ms | {fake_llm:>5.2f} ms")
    turn_cpu_ms = statistics.median(c[0] for c in costs)
    streamed_cpu_ms = statistics.median(c[0] for c in streamed_costs)
    print(f"CPU per turn, median of the rounds: {turn_cpu_ms:.2f} ms; database queries per turn: {queries:g}")
    print(
        f"CPU per turn with a {STREAMED_WORDS}-word reply streamed a word every {WORD_INTERVAL_S * 1000:.0f} ms "
        f"({CONCURRENT} conversations at once), rounds "
        f"{', '.join(f'{c[0]:.2f}' for c in streamed_costs)} ms; median {streamed_cpu_ms:.2f} ms"
    )
    print(f"\nLocal intent classifier: {rate:,.0f} classifications/s on one core")
    print(
        json.dumps(
            {
                "turn_cpu_ms": round(turn_cpu_ms, 2),
                "turn_cpu_ms_streamed_reply": round(streamed_cpu_ms, 2),
                "queries_per_turn": queries,
                "turn_overhead_p95_ms_1": round(pct(one, 95), 1),
                "turn_overhead_p95_ms_100": round(pct(hundred, 95), 1),
                "classifier_per_s": round(rate),
            }
        )
    )


if __name__ == "__main__":
    main()
