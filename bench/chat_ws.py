"""Web chat under load: 100, 500 and 1000 concurrent widget conversations over WebSocket.

Starts embedded Postgres + Redis, one real uvicorn serving `config.asgi`, and the fake OpenAI
server (in its own process, with a fixed time to first token). Every conversation connects and
starts (all of a level stay open together), then sends MESSAGES messages, each after a pause a
person would take to read and type (uniform THINK_S seconds), so a level of N open conversations
offers about N / 15 messages a second. Prints, per level, time to first token minus the
fake's injected delay (p50/p95), messages sent vs. answered (answered: the bot's message came,
with no error frame, before `done`; lost = sent - answered), the error frames, and the server's
memory per open connection. Ends with one JSON line of headline figures.

Burst mode (`--burst`): IDLE widget sockets are opened and started and stay open doing nothing,
then N of BURST_SOCKETS started sockets send a message at the same instant (they wait on one
barrier, and each notes the time just before its own send), for N = 1, 10, 100 and 1000, a few
rounds each. That is the load a single number of "messages a second" hides: many people pressing
Enter together. Prints first-token overhead (time to the first token minus the fake's delay) p50
and p95 per N, messages answered, the server's CPU time per message (all its processes) and the
whole machine's (the server, the simulated widgets, the fake LLM, Postgres and Redis share the
cores); the JSON line has `burst_overhead_p95_ms_<N>` and `lost_messages`.

The server runs one uvicorn process per core (`--workers`, as `make run` does).

Run from the repository root: `.venv/bin/python bench/chat_ws.py` or
`.venv/bin/python bench/chat_ws.py --burst`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import (  # noqa: E402
    bench_services,
    fake_openai,
    freeze_heap,
    machine_cpu_s,
    pct,
    seed_bot,
    start_fake,
    start_server,
    stop,
    tree_cpu_s,
)

LEVELS = (100, 500, 1000)
MESSAGES = 3
THINK_S = (5.0, 25.0)  # a pause before each message, as a person reading and typing
TTFT_S = 0.2  # the fake LLM waits this long before its first token
BURSTS = {1: 20, 10: 10, 100: 3, 1000: 2}  # senders at the same instant: rounds
BURST_SOCKETS = max(BURSTS)
IDLE = 2000
OPEN_AT_ONCE = 100  # sockets opened together while setting a burst up
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


class Widget:
    """One started widget socket, kept open."""

    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def open(cls, url: str, stack) -> Widget:
        from websockets.asyncio.client import connect

        ws = await stack.enter_async_context(
            connect(url, open_timeout=120, ping_interval=None, close_timeout=5, max_size=None)
        )
        widget = cls(ws)
        await ws.send(json.dumps({"type": "start"}))
        await widget.first_token_and_answer()  # the greeting turn
        return widget

    async def first_token_and_answer(self, t0: float | None = None) -> tuple[float | None, bool, str]:
        first, answered, error = None, False, ""
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout=180))
            if frame["type"] in ("text_delta", "message") and first is None and t0 is not None:
                first = time.perf_counter() - t0
            if frame["type"] == "message":
                answered = True
            elif frame["type"] == "error":
                answered, error = False, frame["code"]
            elif frame["type"] == "done":
                return first, answered, error

    async def say_at(self, go: asyncio.Event, text: str) -> tuple[float | None, bool, str]:
        await go.wait()
        t0 = time.perf_counter()
        await self.ws.send(json.dumps({"type": "message", "text": text}))
        return await self.first_token_and_answer(t0)


async def open_many(url: str, n: int, stack) -> list[Widget]:
    widgets: list[Widget] = []
    for start in range(0, n, OPEN_AT_ONCE):
        batch = min(OPEN_AT_ONCE, n - start)
        widgets += await asyncio.gather(*(Widget.open(url, stack) for _ in range(batch)))
    return widgets


async def bursts(url: str, server_pid: int) -> dict[int, dict]:
    import contextlib

    rows = {}
    async with contextlib.AsyncExitStack() as stack:
        await open_many(url, IDLE, stack)  # open pages nobody types in
        senders = await open_many(url, BURST_SOCKETS, stack)
        for n, rounds in BURSTS.items():
            row = rows[n] = {"sent": 0, "answered": 0, "overhead_ms": [], "errors": Counter()}
            cpu_before, machine_before = tree_cpu_s(server_pid), machine_cpu_s()
            for r in range(rounds):
                go = asyncio.Event()
                tasks = [
                    asyncio.create_task(w.say_at(go, f"Burst {n}, round {r}: where is my order?")) for w in senders[:n]
                ]
                await asyncio.sleep(0.05)  # every sender is waiting on the barrier
                go.set()
                results = await asyncio.gather(*tasks, return_exceptions=True)
                row["sent"] += n
                for result in results:
                    if isinstance(result, BaseException) or not result[1]:
                        row["errors"][repr(result) if isinstance(result, BaseException) else result[2]] += 1
                        continue
                    row["answered"] += 1
                    if result[0] is not None:
                        row["overhead_ms"].append((result[0] - TTFT_S) * 1000)
                await asyncio.sleep(1.0)  # the turns are stored after their last frame
            row["cpu_ms_per_message"] = (tree_cpu_s(server_pid) - cpu_before) * 1000 / row["sent"]
            row["machine_ms_per_message"] = (machine_cpu_s() - machine_before) * 1000 / row["sent"]
    return rows


def print_bursts(rows: dict[int, dict]) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nWeb chat bursts — N sockets send at the same instant, {IDLE} idle sockets open; fake LLM time to "
        f"first token {TTFT_S * 1000:.0f} ms; {os.cpu_count()} web processes; load average at the end {load}"
    )
    print(
        f"{'senders':>7} | {'overhead p50':>12} | {'overhead p95':>12} | {'sent':>5} | {'answered':>8} | "
        "server CPU per message | machine CPU per message"
    )
    for n, row in rows.items():
        print(
            f"{n:>7} | {pct(row['overhead_ms'], 50):>9.1f} ms | {pct(row['overhead_ms'], 95):>9.1f} ms | "
            f"{row['sent']:>5} | {row['answered']:>8} | {row['cpu_ms_per_message']:>19.1f} ms | "
            f"{row['machine_ms_per_message']:>20.1f} ms"
        )
        if row["errors"]:
            print("   not answered:", dict(row["errors"].most_common(5)))
    lost = sum(row["sent"] - row["answered"] for row in rows.values())
    print(
        json.dumps(
            {f"burst_overhead_p95_ms_{n}": round(pct(row["overhead_ms"], 95), 1) for n, row in rows.items()}
            | {"lost_messages": lost}
        )
    )


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


UNLIMITED = {
    name: "1000000"
    for name in (
        "CHAT_IP_MESSAGES_PER_MINUTE",
        "CHAT_IP_CONNECTIONS_PER_MINUTE",
        "CHAT_CONNECTION_MESSAGES_PER_MINUTE",
        "CHAT_CONVERSATIONS_PER_MINUTE_IP",
        "CHAT_CONVERSATIONS_PER_MINUTE_KEY",
        "CHAT_CONVERSATIONS_PER_MINUTE_BOT",
    )
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--burst", action="store_true", help="N sockets sending at the same instant")
    burst = parser.parse_args().burst
    with bench_services("chat", ALLOWED_HOSTS="127.0.0.1,localhost", PYTHONUNBUFFERED="1", **UNLIMITED) as env:
        procs: list[subprocess.Popen] = []
        try:
            public_key = seed_bot(BOT_YAML).public_key
            fake, fake_url = start_fake(fake_openai(TTFT_S), env)
            procs.append(fake)
            env |= {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake_url}
            from tests.processes import free_port

            port = free_port()
            server = start_server(env, port, workers=(os.cpu_count() or 1) if burst else 1)
            procs.append(server)
            url = f"ws://127.0.0.1:{port}/ws/chat/{public_key}/"
            asyncio.run(warm_up(url))
            freeze_heap()
            if burst:
                burst_rows = asyncio.run(bursts(url, server.pid))
            else:
                rows = {n: asyncio.run(level(url, n, server.pid)) for n in LEVELS}
        finally:
            for proc in procs:
                stop(proc)
    if burst:
        return print_bursts(burst_rows)

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
