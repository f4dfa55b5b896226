"""Phone calls under load: 1, 10, 20 and 50 concurrent simulated Twilio calls.

Starts embedded Postgres + Redis, one real uvicorn serving `config.asgi`, and the vendor fakes
(each in its own process) with fixed injected delays: Deepgram sends the final transcript
250 ms after the caller's last voiced frame, the LLM's first token comes after 350 ms, the
first TTS byte after 150 ms. Every call is placed through the signed webhook, hears its
greeting, then (all calls at once, jittered) asks a question in real-time 20 ms mu-law frames,
and talks over the answer (barge-in).

Measured by the caller, like Twilio would see it:
* end of speech → first audio frame: last voiced frame sent → first `media` of the answer;
* minus the injected delays (250 + 350 + 150 ms): an upper bound of our cost, since it also
  holds the loopback hops, the fakes' own work and this process's event-loop lag;
* barge-in → clear: first frame of the interrupting speech sent → `clear` received (the JSON
  line's figure is at 20 calls, the design's reference load).
Measured by the server (`CallTurn`, the figures the admin shows), the headline platform share:
end of speech → first audio frame sent, minus the vendor time it observed (final transcript
arrival, the LLM gateway's time to first token, the first TTS byte).

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

from support import bench_services, cpu_s, fake_openai, pct, seed_bot, start_fake, start_server  # noqa: E402

LEVELS = tuple(int(n) for n in os.environ.get("BENCH_VOICE_LEVELS", "1,10,20,50").split(","))
STT_FINAL_S, LLM_TTFT_S, TTS_FIRST_BYTE_S = 0.25, 0.35, 0.15
VENDOR_MS = (STT_FINAL_S + LLM_TTFT_S + TTS_FIRST_BYTE_S) * 1000
AUTH_TOKEN = "bench-twilio-token"
ACCOUNT_SID = "AC" + "2" * 32
PUBLIC = "https://voice.bench.test"
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
        "from tests.fakes.elevenlabs_server import FakeElevenLabs as F; "
        f"f = F(first_byte_delay={TTS_FIRST_BYTE_S}, ms_per_char=60)"
    ),
    "TWILIO_API_BASE_URL": f"from tests.fakes.twilio_client import FakeTwilioRest as F; f = F('{ACCOUNT_SID}', '{AUTH_TOKEN}')",
}


def first_media_after(call, t: float) -> float | None:
    return next((at for at, event, _ in call.events if event == "media" and at > t), None)


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


async def level(base: str, n: int, server_pid: int) -> dict:
    stats = {"n": n, "first_audio_ms": [], "clear_ms": []}
    all_greeted, greeted = asyncio.Event(), []
    cpu_before, wall_before = cpu_s(server_pid), time.monotonic()
    results = await asyncio.gather(
        *(one_call(base, all_greeted, greeted, stats) for _ in range(n)), return_exceptions=True
    )
    # The server's CPU per second of call: what a call costs, whatever else runs on the machine.
    stats["cpu_ms_per_call_s"] = (cpu_s(server_pid) - cpu_before) * 1000 / (n * (time.monotonic() - wall_before))
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

    figures = await server_figures()
    stats["server_first_audio_ms"] = [f for f, _ in figures]
    stats["server_platform_ms"] = [p for _, p in figures]
    return stats


def main() -> None:
    with bench_services(
        "voice", ALLOWED_HOSTS="127.0.0.1,localhost", PUBLIC_BASE_URL=PUBLIC, PYTHONUNBUFFERED="1"
    ) as env:
        procs: list[subprocess.Popen] = []
        try:
            seed_bot(BOT_YAML)
            for name, code in FAKES.items():
                proc, url = start_fake(code, env)
                procs.append(proc)
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
            server = start_server(env, port)
            procs.append(server)
            base = f"http://127.0.0.1:{port}"
            asyncio.run(level(base, 1, server.pid))  # warm-up: the first turn of a process loads the NLU model and more
            rows = {n: asyncio.run(level(base, n, server.pid)) for n in LEVELS}
        finally:
            for proc in reversed(procs):
                proc.terminate()
                proc.wait(timeout=15)

    print(
        f"\nPhone calls — injected vendor delays: STT final {STT_FINAL_S * 1000:.0f} ms, "
        f"LLM first token {LLM_TTFT_S * 1000:.0f} ms, TTS first byte {TTS_FIRST_BYTE_S * 1000:.0f} ms"
    )
    head = (
        f"{'calls':>5} | {'speech end→audio p50':>20} | {'p95':>7} | {'minus delays p50':>16} | {'p95':>7} | "
        f"{'barge-in→clear p50':>18} | {'p95':>7} | {'server: platform p50':>20} | {'p95':>7} | "
        f"{'server CPU ms per call-s':>24} | {'failed':>6}"
    )
    print(head)
    for n, s in rows.items():
        share = [v - VENDOR_MS for v in s["first_audio_ms"]]
        print(
            f"{n:>5} | {pct(s['first_audio_ms'], 50):>17.1f} ms | {pct(s['first_audio_ms'], 95):>7.1f} | "
            f"{pct(share, 50):>13.1f} ms | {pct(share, 95):>7.1f} | {pct(s['clear_ms'], 50):>15.1f} ms | "
            f"{pct(s['clear_ms'], 95):>7.1f} | {pct(s['server_platform_ms'], 50):>17.1f} ms | "
            f"{pct(s['server_platform_ms'], 95):>7.1f} | {s['cpu_ms_per_call_s']:>24.1f} | {len(s['failures']):>6}"
        )
        for failure in s["failures"][:3]:
            print("   failure:", failure)
    print(
        json.dumps(
            {
                f"platform_share_p95_ms_{n}": round(pct(rows[n]["server_platform_ms"], 95), 1)
                for n in (1, 20, 50)
                if n in rows
            }
            # At the design's reference load of 20 calls (the table has every level).
            | {"barge_in_clear_p95_ms": round(pct(rows[20]["clear_ms"], 95), 1) if 20 in rows else None}
        )
    )


if __name__ == "__main__":
    main()
