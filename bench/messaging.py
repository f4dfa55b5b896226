"""Messaging channels under a burst: WhatsApp, Slack and SMS, 1, 10 and 50 people each writing at
the same instant, every webhook delivered 3 times.

Starts embedded Postgres + Redis, one real uvicorn serving `config.asgi`, the Celery worker that
serves messaging turns (threads, as `make run` starts it) and the vendor fakes (Graph API, Slack
Web API, Twilio REST, OpenAI with a fixed time to first token) in this process. For each channel and
level, that many people send one message at the same instant, and each signed webhook is
delivered three times at once, as a platform retrying a slow acknowledgement would. Measured where the platform
is seen from outside:

* acknowledgement: the webhook sender's request → response, every delivery;
* reply overhead: first webhook sent → the platform's first API call for that person, minus the
  fake LLM's injected time to first token;
* duplicates: API calls beyond one reply per person; lost: people with no reply.

Ends with one JSON line at 50 people: `ack_p95_ms` (the worst channel), `reply_overhead_p95_ms`,
`duplicates`, `lost`. Run from the repository root: `.venv/bin/python bench/messaging.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import bench_services, fake_openai, pct, seed_bot, start_fake, start_server  # noqa: E402

LEVELS = (1, 10, 50)  # people writing at the same instant, per channel
DELIVERIES = 3
TTFT_S = 0.2
PORT = 8791
BOT_YAML = """
switchboard: 1
name: Bench Messaging
slug: bench-messaging
prompts:
  - {name: answer, system: You are a helpful assistant.}
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - {id: answer, kind: llm, prompt: answer}
"""
SLACK_TOKEN, SLACK_SECRET, WA_TOKEN, WA_SECRET = "xoxb-bench", "slack-secret", "wa-token", "wa-secret"
TWILIO_SID, TWILIO_TOKEN, SMS_NUMBER, WA_PNID = "AC" + "7" * 32, "twilio-token", "+14155550100", "1055"


def connect(bot, fakes) -> dict:
    """One connection per channel, set up as the admin does (configure, then save)."""
    from bots.models import ChannelConnection
    from channels_app.messaging import connections

    specs = {
        "whatsapp": dict(
            settings={"phone_number_id": WA_PNID}, credentials={"access_token": WA_TOKEN, "app_secret": WA_SECRET}
        ),
        "slack": dict(
            settings={"team_id": "T0TEAM"}, credentials={"bot_token": SLACK_TOKEN, "signing_secret": SLACK_SECRET}
        ),
        "sms": dict(phone_number=SMS_NUMBER, credentials={"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN}),
    }
    made = {}
    for kind, spec in specs.items():
        channel = ChannelConnection(
            bot=bot, kind=kind, settings=spec.get("settings", {}), phone_number=spec.get("phone_number", "")
        )
        channel.credentials = spec["credentials"]
        problems = connections.configure(channel)
        assert not problems, problems
        channel.save()
        made[kind] = channel
    return made


def whatsapp_request(base: str, channel, person: int):
    from tests.fakes.whatsapp_server import message, sign

    body = message(WA_PNID, sender=f"1650555{person:04d}", text={"body": f"What are your opening hours? ({person})"})
    headers = {"X-Hub-Signature-256": sign(body, WA_SECRET), "Content-Type": "application/json"}
    return f"{base}/hooks/whatsapp/{channel.webhook_key}/", body, headers


def slack_request(base: str, channel, person: int):
    from tests.fakes.slack_server import signed

    event = {
        "type": "message",
        "channel": f"D{person:08d}",
        "channel_type": "im",
        "user": f"U{person:08d}",
        "text": f"What are your opening hours? ({person})",
        "ts": f"{int(time.time())}.{person:06d}",
    }
    envelope = {
        "token": "x",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10]}",
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}],
    }
    body = json.dumps(envelope).encode()
    return (
        f"{base}/hooks/slack/{channel.webhook_key}/",
        body,
        {**signed(SLACK_SECRET, body), "Content-Type": "application/json"},
    )


def sms_request(base: str, channel, person: int):
    from urllib.parse import urlencode

    from tests.fakes.twilio_messaging import FakeTwilioMessaging

    url = f"{base}/hooks/sms/{channel.webhook_key}/"
    form, signature = FakeTwilioMessaging(TWILIO_SID, TWILIO_TOKEN).inbound(
        url, sender=f"+1650555{person:04d}", receiver=SMS_NUMBER, body=f"What are your opening hours? ({person})"
    )
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    return url, urlencode(form).encode(), headers


def first_calls(kind: str, fakes) -> dict[str, list[float]]:
    """Per person (as the platform addresses them), the times of its API calls that post a reply."""
    calls: dict[str, list[float]] = {}
    if kind == "whatsapp":
        for s in list(fakes["whatsapp"].attempts):
            calls.setdefault(s["body"].get("to", ""), []).append(s["time"])
    elif kind == "slack":
        for c in list(fakes["slack"].calls):
            if c["method"] == "chat.postMessage":
                calls.setdefault(c["body"].get("channel", ""), []).append(c["time"])
    else:
        for s in list(fakes["sms"].sent):
            calls.setdefault(s["form"]["To"], []).append(s["time"])
    return calls


def person_key(kind: str, person: int) -> str:
    return {"whatsapp": f"1650555{person:04d}", "slack": f"D{person:08d}", "sms": f"+1650555{person:04d}"}[kind]


async def burst(kind: str, base: str, channel, fakes, people: int, first: int) -> dict:
    """`people` people (numbered from `first`, so every level has new ones) write at the same instant."""
    import httpx

    build = {"whatsapp": whatsapp_request, "slack": slack_request, "sms": sms_request}[kind]
    persons = range(first, first + people)
    requests = {p: build(base, channel, p) for p in persons}
    acks: list[float] = []
    started: dict[int, float] = {}
    statuses: list[int] = []
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=people * DELIVERIES), timeout=30) as client:

        async def deliver(person: int, url: str, body: bytes, headers: dict):
            t0 = time.monotonic()
            started.setdefault(person, t0)
            response = await client.post(url, content=body, headers=headers)
            acks.append((time.monotonic() - t0) * 1000)
            statuses.append(response.status_code)

        await asyncio.gather(*(deliver(p, *requests[p]) for p in persons for _ in range(DELIVERIES)))
        keys = {person_key(kind, p) for p in persons}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not keys <= set(first_calls(kind, fakes)):
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # late duplicates would show up here
    calls = {k: v for k, v in first_calls(kind, fakes).items() if k in keys}
    overheads = [
        (min(calls[person_key(kind, p)]) - started[p] - TTFT_S) * 1000 for p in persons if person_key(kind, p) in calls
    ]
    return {
        "acks": acks,
        "overheads": overheads,
        "duplicates": sum(len(v) - 1 for v in calls.values()),
        "lost": people - len(overheads),
        "refused": sum(1 for s in statuses if s != 200),
    }


def main() -> None:
    from tests.fakes.slack_server import FakeSlack
    from tests.fakes.twilio_messaging import FakeTwilioMessaging
    from tests.fakes.whatsapp_server import FakeWhatsApp

    base = f"http://127.0.0.1:{PORT}"
    # The LLM in a process of its own, so its pace does not depend on this one's load; the messaging
    # fakes stay here, where the times they record are on the bench's own clock.
    llm, llm_url = start_fake(fake_openai(TTFT_S), dict(os.environ))
    fakes = {
        "whatsapp": FakeWhatsApp(WA_TOKEN).start(),
        "slack": FakeSlack(token=SLACK_TOKEN).start(),
        "sms": FakeTwilioMessaging(TWILIO_SID, TWILIO_TOKEN).start(),
    }
    extra = {
        "OPENAI_API_KEY": "sk-bench",
        "OPENAI_BASE_URL": llm_url,
        "WHATSAPP_API_URL": fakes["whatsapp"].base_url,
        "SLACK_API_URL": fakes["slack"].base_url + "/",
        "TWILIO_API_BASE_URL": fakes["sms"].base_url,
        "PUBLIC_BASE_URL": base,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    with bench_services("messaging", **extra) as env:
        bot = seed_bot(BOT_YAML)
        channels = connect(bot, fakes)
        server = start_server(env, PORT)
        from tests.processes import start_worker_on

        worker = start_worker_on("turns", env, threads=32)  # as `make run` starts it
        try:
            results = {}
            for kind, channel in channels.items():
                asyncio.run(burst(kind, base, channel, fakes, 10, 9000))  # warm-up: imports, connection pools
                first = 0
                for people in LEVELS:
                    results[(kind, people)] = asyncio.run(burst(kind, base, channel, fakes, people, first))
                    first += people
        finally:
            worker.stop()
            server.terminate()
            server.wait(15)
    for fake in fakes.values():
        fake.stop()
    llm.terminate()

    print(
        f"\nPeople writing at the same instant, each webhook delivered {DELIVERIES} times; "
        f"fake LLM first token {TTFT_S * 1000:.0f} ms (subtracted)\n"
    )
    print(
        f"{'channel':<10}{'people':>7}{'ack p50':>10}{'ack p95':>10}{'reply p50':>12}{'reply p95':>12}{'dupes':>8}{'lost':>6}{'non-200':>9}"
    )
    for (kind, people), r in results.items():
        print(
            f"{kind:<10}{people:>7}{pct(r['acks'], 50):>10.1f}{pct(r['acks'], 95):>10.1f}{pct(r['overheads'], 50):>12.1f}"
            f"{pct(r['overheads'], 95):>12.1f}{r['duplicates']:>8}{r['lost']:>6}{r['refused']:>9}"
        )
    print("(milliseconds; reply = first webhook sent → first outbound API call, minus the LLM's injected delay)")
    top = [r for (_, people), r in results.items() if people == LEVELS[-1]]
    headline = {
        "ack_p95_ms": round(max(pct(r["acks"], 95) for r in top), 1),
        "reply_overhead_p95_ms": round(max(pct(r["overheads"], 95) for r in top), 1),
        "duplicates": sum(r["duplicates"] for r in results.values()),
        "lost": sum(r["lost"] for r in results.values()),
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
