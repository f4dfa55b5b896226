"""Phone calls under load: 1, 10, 20, 50 and 100 concurrent simulated Twilio calls.

Starts embedded Postgres + Redis, uvicorn serving `config.asgi` in one process per core (as
`make run` does), and the vendor fakes
(each in its own process) with fixed injected delays: Deepgram sends the final transcript
250 ms after the caller's last voiced frame, the LLM's first token comes after 350 ms, the
first TTS byte after 150 ms. Every call is placed through the signed webhook, hears its
greeting, then (all calls at once, jittered) asks a question in real-time 20 ms mu-law frames,
and talks over the answer (barge-in).

Measured by the caller, like Twilio would see it — the headline figures:
* end of speech → first audio frame: last voiced frame sent → first `media` of the answer;
* platform share = that minus the injected delays (250 + 350 + 150 ms): an upper bound of our
  cost, since it also holds the loopback hops, the fakes' own work and this process's lag. The
  reply starts at the caller's pause (after 150 ms of silence the pipeline asks the fake for the
  transcript so far, which it answers at once), so part of the 250 ms of STT endpointing is
  overlapped and the share can be below zero: it is the experienced wait measured against the
  vendors' delays end to end;
* barge-in → clear: first frame of the interrupting speech sent → `clear` received;
* TTS first byte → caller's first frame: the fake TTS marks the first bytes of each answer with
  its request number and prints when it sent them (bench/stamped_tts.py); the caller finds the
  mark in its first frame of the answer.
Measured by the server (`CallTurn`, the figures the admin shows), as extra columns: end of
speech → first audio frame sent, minus the vendor time it observed; and the server's CPU per
second of call, next to the cores busy on the whole machine (callers, fakes and server share them).

Run from the repository root: `.venv/bin/python bench/voice.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stamped_tts import read_stamp  # noqa: E402
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

LEVELS = tuple(int(n) for n in os.environ.get("BENCH_VOICE_LEVELS", "1,10,20,50,100").split(","))
STT_FINAL_S, LLM_TTFT_S, TTS_FIRST_BYTE_S = 0.25, 0.35, 0.15
VENDOR_MS = (STT_FINAL_S + LLM_TTFT_S + TTS_FIRST_BYTE_S) * 1000
AUTH_TOKEN = "bench-twilio-token"
ACCOUNT_SID = "AC" + "2" * 32
PUBLIC = "http://voice.bench.test"  # plain HTTP: no load balancer in front to say the scheme
NUMBER = "+14155550100"
BOT_YAML = f"""
switchboard: 1
name: Bench Phone
slug: bench-phone
greeting: Hello.
voice:
  silence_timeout_s: 60
prompts:
  - name: answer
    system: You answer on the phone.
    mode: voice
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - {{id: answer, kind: llm, prompt: answer}}
channels:
  - kind: phone
    phone_number: "{NUMBER}"
"""

FAKES = {
    "OPENAI_BASE_URL": fake_openai(LLM_TTFT_S),
    "DEEPGRAM_BASE_URL": f"from tests.fakes.deepgram_server import FakeDeepgram as F; f = F(final_delay={STT_FINAL_S})",
    # 60 ms of audio per character: answers play long enough to be talked over.
    "ELEVENLABS_BASE_URL": (
        "import sys; sys.path.insert(0, 'bench'); from stamped_tts import StampedElevenLabs as F; "
        f"f = F(first_byte_delay={TTS_FIRST_BYTE_S}, ms_per_char=60)"
    ),
    "TWILIO_API_BASE_URL": f"from tests.fakes.twilio_client import FakeTwilioRest as F; f = F('{ACCOUNT_SID}', '{AUTH_TOKEN}')",
}


def _first_media(call, t: float) -> tuple[float, dict] | None:
    """The first `media` message received after `t`, looked for from the newest back: polled
    while a hundred calls run, it must not walk each call's whole history every time."""
    found = None
    for at, event, message in reversed(call.events):
        if at <= t:
            break
        if event == "media":
            found = at, message
    return found


def first_media_after(call, t: float) -> float | None:
    first = _first_media(call, t)
    return first[0] if first else None


def first_media_stamp(call, t: float) -> tuple[float, int | None] | None:
    """(received at, the fake TTS request number it carries) of the first frame after `t`."""
    import base64

    first = _first_media(call, t)
    return (first[0], read_stamp(base64.b64decode(first[1]["media"]["payload"]))) if first else None


class FirstBytes:
    """The fake TTS's `first-byte <number> <monotonic>` lines, read as it prints them."""

    def __init__(self, proc: subprocess.Popen):
        import threading

        self.at: dict[int, float] = {}
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            if line.startswith("first-byte "):
                _, number, at = line.split()
                self.at[int(number)] = float(at)


FIRST_BYTES: FirstBytes | None = None


async def one_call(base: str, all_greeted: asyncio.Event, greeted: list, stats: dict) -> None:
    from tests.fakes.twilio_client import TwilioCall

    call = await TwilioCall.place(base, public_base_url=PUBLIC, auth_token=AUTH_TOKEN, to=NUMBER)
    try:
        await call.wait_quiet(timeout=60)
        greeted.append(1)
        if len(greeted) == stats["n"]:
            all_greeted.set()
        await all_greeted.wait()
        await call.silence(random.uniform(0.0, 1.0))  # noqa: S311 — jitter, not security
        # A question; its answer's first audio frame is the figure.
        await call.say("what_are_your_opening_hours")
        end_of_speech = call.last_voiced_sent_at
        await call.wait_for(lambda: first_media_after(call, end_of_speech) is not None, timeout=30)
        stats["first_audio_ms"].append((first_media_after(call, end_of_speech) - end_of_speech) * 1000)
        stats["stamps"].append(first_media_stamp(call, end_of_speech))
        # Talk over the answer as soon as it starts playing.
        clears = len(call.clears)
        onset = time.monotonic()
        speaking = asyncio.create_task(call.say("another_question", trailing_silence=0.4))
        await call.wait_for(lambda: len(call.clears) > clears, timeout=30, keep_talking=False)
        stats["clear_ms"].append((call.clears[clears] - onset) * 1000)
        await speaking
        await call.wait_quiet(timeout=60)
    finally:
        await call.close()


async def own_lag(lags: list[float]) -> None:
    """How late this process's event loop wakes a 5 ms sleep: every figure timed here carries
    that much of the simulated callers' own delay, which is not the platform's."""
    while True:
        before = time.monotonic()
        await asyncio.sleep(0.005)
        lags.append((time.monotonic() - before - 0.005) * 1000)


async def level(base: str, n: int, server_pid: int) -> dict:
    stats = {"n": n, "first_audio_ms": [], "clear_ms": [], "stamps": [], "caller_lag_ms": []}
    all_greeted, greeted = asyncio.Event(), []
    cpu_before, machine_before, wall_before = tree_cpu_s(server_pid), machine_cpu_s(), time.monotonic()
    monitor = asyncio.create_task(own_lag(stats["caller_lag_ms"]))
    results = await asyncio.gather(
        *(one_call(base, all_greeted, greeted, stats) for _ in range(n)), return_exceptions=True
    )
    monitor.cancel()
    # The server's CPU per second of call: what a call costs, whatever else runs on the machine.
    wall = time.monotonic() - wall_before
    stats["cpu_ms_per_call_s"] = (tree_cpu_s(server_pid) - cpu_before) * 1000 / (n * wall)
    # Cores busy on the whole machine: the server, the simulated callers and the fakes share them.
    stats["machine_cores"] = (machine_cpu_s() - machine_before) / wall
    stats["failures"] = [repr(r) for r in results if isinstance(r, BaseException)]
    await asyncio.sleep(1)  # the server stores the last turns after the sockets close
    from asgiref.sync import sync_to_async

    from voice.models import CallTurn

    @sync_to_async
    def server_figures():
        rows = CallTurn.objects.filter(input_kind="speech", interrupted=False, first_audio_ms__isnull=False)
        figures = list(rows.values_list("first_audio_ms", "platform_ms"))
        rows.delete()
        return figures

    await asyncio.sleep(0.5)  # the fake's last lines
    stats["tts_to_caller_ms"] = [
        (at - FIRST_BYTES.at[number]) * 1000
        for at, number in filter(None, stats["stamps"])
        if number is not None and number in FIRST_BYTES.at
    ]
    figures = await server_figures()
    stats["server_first_audio_ms"] = [f for f, _ in figures]
    stats["server_platform_ms"] = [p for _, p in figures]
    return stats


def main() -> None:
    global FIRST_BYTES
    with bench_services(
        "voice", ALLOWED_HOSTS="127.0.0.1,localhost", PUBLIC_BASE_URL=PUBLIC, PYTHONUNBUFFERED="1"
    ) as env:
        procs: list[subprocess.Popen] = []
        try:
            seed_bot(BOT_YAML)
            for name, code in FAKES.items():
                proc, url = start_fake(code, env)
                procs.append(proc)
                if name == "ELEVENLABS_BASE_URL":
                    FIRST_BYTES = FirstBytes(proc)
                env[name] = url + ("/v1" if name == "OPENAI_BASE_URL" else "")
            env |= {
                "OPENAI_API_KEY": "sk-bench",
                "DEEPGRAM_API_KEY": "dg-bench",
                "ELEVENLABS_API_KEY": "el-bench",
                "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            }
            from tests.processes import free_port

            port = free_port()
            server = start_server(env, port, workers=os.cpu_count() or 1)
            procs.append(server)
            base = f"http://127.0.0.1:{port}"
            # Warm-up: the first turn of each web process loads the NLU model and more.
            asyncio.run(level(base, 2 * (os.cpu_count() or 1), server.pid))
            freeze_heap()
            rows = {n: asyncio.run(level(base, n, server.pid)) for n in LEVELS}
        finally:
            for proc in reversed(procs):
                stop(proc)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nPhone calls, measured at the caller — injected vendor delays: STT final {STT_FINAL_S * 1000:.0f} ms, "
        f"LLM first token {LLM_TTFT_S * 1000:.0f} ms, TTS first byte {TTS_FIRST_BYTE_S * 1000:.0f} ms; "
        f"{os.cpu_count()} web processes; load average at the end {load}"
    )
    head = (
        f"{'calls':>5} | {'speech end→audio p50':>20} | {'p95':>7} | {'platform share p50':>18} | {'p95':>7} | "
        f"{'barge-in→clear p50':>18} | {'p95':>7} | {'TTS byte→caller p50':>19} | {'p95':>7} | "
        f"{'server: platform p50':>20} | {'p95':>7} | {'server CPU ms per call-s':>24} | {'machine cores busy':>18} | "
        f"{'callers own lag p95':>19} | {'failed':>6}"
    )
    print(head)
    for n, s in rows.items():
        share = [v - VENDOR_MS for v in s["first_audio_ms"]]
        print(
            f"{n:>5} | {pct(s['first_audio_ms'], 50):>17.1f} ms | {pct(s['first_audio_ms'], 95):>7.1f} | "
            f"{pct(share, 50):>13.1f} ms | {pct(share, 95):>7.1f} | {pct(s['clear_ms'], 50):>15.1f} ms | "
            f"{pct(s['clear_ms'], 95):>7.1f} | {pct(s['tts_to_caller_ms'], 50):>16.1f} ms | "
            f"{pct(s['tts_to_caller_ms'], 95):>7.1f} | {pct(s['server_platform_ms'], 50):>17.1f} ms | "
            f"{pct(s['server_platform_ms'], 95):>7.1f} | {s['cpu_ms_per_call_s']:>24.1f} | {s['machine_cores']:>18.2f} | "
            f"{pct(s['caller_lag_ms'], 95):>16.1f} ms | {len(s['failures']):>6}"
        )
        for failure in s["failures"][:3]:
            print("   failure:", failure)

    def share(n: int) -> list[float]:
        return [v - VENDOR_MS for v in rows[n]["first_audio_ms"]] if n in rows else []

    every_tts = [v for s in rows.values() for v in s["tts_to_caller_ms"]]
    print(
        json.dumps(
            {f"platform_share_p95_ms_{n}": round(pct(share(n), 95), 1) for n in (20, 50, 100)}
            | {
                "barge_in_clear_p95_ms_50": round(pct(rows[50]["clear_ms"], 95), 1) if 50 in rows else None,
                "tts_first_byte_to_caller_p95_ms": round(pct(every_tts, 95), 1),
                "measured_at": "caller",
            }
        )
    )


if __name__ == "__main__":
    main()
