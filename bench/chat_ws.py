"""Web chat under load: 100, 500 and 1000 concurrent widget conversations over WebSocket.

Starts embedded Postgres + Redis, one real uvicorn serving `config.asgi`, and the fake OpenAI
server (in its own process, with a fixed time to first token). Every conversation connects and
starts (all of a level stay open together), then sends MESSAGES messages, each after a pause a
person would take to read and type (uniform THINK_S seconds), so a level of N open conversations
offers about N / 15 messages a second. Prints, per level, time to first token minus the
fake's injected delay (p50/p95), messages sent vs. answered (answered: the bot's message came,
with no error frame, before `done`; lost = sent - answered), the error frames, and the server's
memory per open connection. Ends with one JSON line of headline figures.

Run from the repository root: `.venv/bin/python bench/chat_ws.py`.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import bench_services, fake_openai, pct, seed_bot, start_fake, start_server  # noqa: E402

LEVELS = (100, 500, 1000)
MESSAGES = 3
THINK_S = (5.0, 25.0)  # a pause before each message, as a person reading and typing
TTFT_S = 0.2  # the fake LLM waits this long before its first token
BOT_YAML = """
switchboard: 1
name: Bench Bot
slug: bench-bot
greeting: Hi, ask me anything.
prompts:
  - name: answer
    system: You are a helpful assistant.
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - {id: answer, kind: llm, prompt: answer}
"""


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def conversation(url: str, all_open: asyncio.Event, opened: list, stats: dict, think=THINK_S) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, open_timeout=120, ping_interval=None, close_timeout=5, max_size=None) as ws:

        async def until_done() -> float | None:
            """Seconds to the first token, or None when the turn ended without an answer."""
            first, answered = None, False
            t0 = time.perf_counter()
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=120))
                if frame["type"] in ("text_delta", "message") and first is None:
                    first = time.perf_counter() - t0
                if frame["type"] == "message":
                    answered = True
                elif frame["type"] == "error":
                    stats["errors"].append(frame["code"])
                    answered = False
                elif frame["type"] == "done":
                    return first if answered else None

        await ws.send(json.dumps({"type": "start"}))
        await until_done()  # the greeting turn
        opened.append(1)
        if len(opened) == stats["n"]:
            all_open.set()
        await all_open.wait()
        for i in range(MESSAGES):
            await asyncio.sleep(random.uniform(*think))
            stats["sent"] += 1
            await ws.send(json.dumps({"type": "message", "text": f"Question {i}: where is my order?"}))
            first = await until_done()
            if first is not None:
                stats["answered"] += 1
                stats["ttft_ms"].append((first - TTFT_S) * 1000)


async def warm_up(url: str) -> None:
    """One conversation first: the server's first turn imports modules and loads the token
    counter's tables, a one-off cost that is not what a level measures."""
    stats = {"n": 1, "sent": 0, "answered": 0, "ttft_ms": [], "errors": []}
    event = asyncio.Event()
    event.set()
    await conversation(url, event, [], stats, think=(0.0, 0.0))


async def level(url: str, n: int, server_pid: int) -> dict:
    stats = {"n": n, "sent": 0, "answered": 0, "ttft_ms": [], "errors": []}
    all_open, opened = asyncio.Event(), []
    before = rss_kb(server_pid)
    tasks = [asyncio.create_task(conversation(url, all_open, opened, stats)) for _ in range(n)]
    await asyncio.wait_for(all_open.wait(), timeout=300)
    stats["mem_kb_per_conn"] = (rss_kb(server_pid) - before) / n
    results = await asyncio.gather(*tasks, return_exceptions=True)
    stats["failures"] = [repr(r) for r in results if isinstance(r, BaseException)]
    return stats


def main() -> None:
    with bench_services(
        "chat",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CHAT_IP_MESSAGES_PER_MINUTE="1000000",
        CHAT_IP_CONNECTIONS_PER_MINUTE="1000000",
        PYTHONUNBUFFERED="1",
    ) as env:
        procs: list[subprocess.Popen] = []
        try:
            public_key = seed_bot(BOT_YAML).public_key
            fake, fake_url = start_fake(fake_openai(TTFT_S), env)
            procs.append(fake)
            env |= {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake_url}
            from tests.processes import free_port

            port = free_port()
            server = start_server(env, port)
            procs.append(server)
            url = f"ws://127.0.0.1:{port}/ws/chat/{public_key}/"
            asyncio.run(warm_up(url))
            rows = {n: asyncio.run(level(url, n, server.pid)) for n in LEVELS}
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=15)

    print(
        f"\nWeb chat over WebSocket — fake LLM time to first token {TTFT_S * 1000:.0f} ms; each conversation sends "
        f"{MESSAGES} messages, {THINK_S[0]:.0f}–{THINK_S[1]:.0f} s apart"
    )
    print(
        f"{'conversations':>13} | {'TTFT-delay p50':>14} | {'TTFT-delay p95':>14} | {'sent':>6} | {'answered':>8} | {'errors':>6} | {'KB/conn':>7}"
    )
    for n, s in rows.items():
        print(
            f"{n:>13} | {pct(s['ttft_ms'], 50):>11.1f} ms | {pct(s['ttft_ms'], 95):>11.1f} ms | {s['sent']:>6} | "
            f"{s['answered']:>8} | {len(s['errors']) + len(s['failures']):>6} | {s['mem_kb_per_conn']:>7.1f}"
        )
        if s["errors"]:
            print("   error frames:", dict(Counter(s["errors"])))
        for failure in s["failures"][:3]:
            print("   failure:", failure)
    lost = sum(s["sent"] - s["answered"] for s in rows.values()) + sum(
        s["n"] * MESSAGES - s["sent"] for s in rows.values()
    )
    print(
        json.dumps(
            {f"first_token_overhead_p95_ms_{n}": round(pct(s["ttft_ms"], 95), 1) for n, s in rows.items()}
            | {"lost_messages": lost}
        )
    )


if __name__ == "__main__":
    main()
