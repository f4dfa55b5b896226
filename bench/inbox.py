"""The agent inbox under load: 200 widget customers ask for a person at the same instant while 20
agents on inbox sockets claim and answer.

Starts embedded Postgres + Redis, one real uvicorn serving `config.asgi` and the fake OpenAI
server (its own process; the handoff summary is an LLM call). The 20 agents connect to
`ws/inbox/` with their session; the 200 customers connect to the widget socket and start.
Then every customer sends "I want to talk to a human" at once. Each handoff is contested by
two agents (both claim it as soon as their socket shows it); the winner replies at once.

Measured in this process, on one clock: handoff → visible in the inbox (the customer's widget
receives the bot's `handoff` frame → the first agent socket receives the waiting chat) and
agent reply → delivered to the widget (the agent's reply request starts → the customer's
widget receives `agent_message`). `double_claims`: chats more than one agent won (must be 0);
`lost`: handoffs never shown in the inbox plus replies never delivered (must be 0).

Run from the repository root: `.venv/bin/python bench/inbox.py`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import bench_services, fake_openai, pct, seed_bot, start_fake, start_server  # noqa: E402

CUSTOMERS = 200
AGENTS = 20
CLAIMERS_PER_CHAT = 2
TIMEOUT_S = 60
TTFT_S = 0.05  # the fake LLM's delay before the summary's first token
BOT_YAML = """
switchboard: 1
name: Bench Bot
slug: bench-bot
greeting: Hi, ask me anything.
prompts:
  - name: answer
    system: You are a helpful assistant.
escalation_rules:
  - name: Asks for a person
    trigger: explicit_request
    queue: support
flows:
  - name: main
    is_entry: true
    graph:
      entry: answer
      nodes:
        - {id: answer, kind: llm, prompt: answer}
"""


def make_agents(workspace) -> list[str]:
    """AGENTS agent accounts in the bench workspace; their session cookies."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bots.models import Membership

    cookies = []
    for i in range(AGENTS):
        user = get_user_model().objects.create_user(f"agent{i}", first_name=f"Agent {i}")
        Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.AGENT)
        client = Client()
        client.force_login(user)
        cookies.append(client.cookies["sessionid"].value)
    return cookies


class Run:
    def __init__(self):
        self.handoff_seen: dict[int, float] = {}  # conversation id → the customer saw the bot hand off
        self.in_inbox: dict[int, float] = {}  # conversation id → first agent socket showed it
        self.reply_sent: dict[int, float] = {}
        self.reply_got: dict[int, float] = {}
        self.winners: Counter = Counter()  # handoff id → agents whose claim succeeded
        self.refused: Counter = Counter()
        self.errors: list[str] = []
        self.all_handed_off = asyncio.Event()
        self.done = asyncio.Event()


async def customer(url: str, run: Run, ready: list, go: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, open_timeout=120, ping_interval=None, close_timeout=5) as ws:
        await ws.send(json.dumps({"type": "start"}))
        cid = None
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
            if frame["type"] == "ready":
                cid = frame["conversation_id"]
            if frame["type"] == "done":
                break
        ready.append(cid)
        await go.wait()
        await ws.send(json.dumps({"type": "message", "text": "I want to talk to a human"}))
        try:
            while cid not in run.reply_got:
                frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
                now = time.perf_counter()
                if frame["type"] == "handoff":
                    run.handoff_seen[cid] = now
                elif frame["type"] == "agent_message":
                    run.reply_got[cid] = now
                elif frame["type"] == "error":
                    run.errors.append(frame["code"])
        except TimeoutError:
            pass


async def agent(base: str, index: int, cookie: str, run: Run, connected: list) -> None:
    import httpx
    from websockets.asyncio.client import connect

    headers = {"Cookie": f"sessionid={cookie}", "Origin": base}
    async with httpx.AsyncClient(base_url=base, cookies={"sessionid": cookie}, timeout=TIMEOUT_S) as http:
        csrf = (await http.get("/inbox/")).cookies.get("csrftoken", "")
        post_headers = {"X-CSRFToken": csrf}
        ws_url = base.replace("http://", "ws://") + "/ws/inbox/"
        async with connect(ws_url, additional_headers=headers, ping_interval=None, max_size=None) as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
            connected.append(index)
            tasks = set()

            async def take(handoff: dict) -> None:
                answer = await http.post(f"/inbox/handoffs/{handoff['id']}/claim", headers=post_headers)
                if answer.status_code != 200:
                    run.refused[answer.json().get("code", str(answer.status_code))] += 1
                    return
                run.winners[handoff["id"]] += 1
                cid = handoff["conversation_id"]
                run.reply_sent.setdefault(cid, time.perf_counter())
                sent = await http.post(
                    f"/inbox/handoffs/{handoff['id']}/reply",
                    json={"text": f"Hi, Agent {index} here."},
                    headers=post_headers,
                )
                if sent.status_code != 200:
                    run.errors.append(f"reply {sent.status_code}")

            while not run.done.is_set():
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 1))
                except TimeoutError:
                    continue
                if frame["type"] != "handoff" or frame["status"] != "open":
                    continue
                cid = frame["conversation_id"]
                run.in_inbox.setdefault(cid, time.perf_counter())
                # Each chat is contested by CLAIMERS_PER_CHAT agents, who claim it the moment they see it.
                if (cid - index) % (AGENTS // CLAIMERS_PER_CHAT) == 0:
                    task = asyncio.create_task(take(frame))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks)


async def scenario(base: str, public_key: str, cookies: list[str]) -> Run:
    run = Run()
    connected: list = []
    agents = [asyncio.create_task(agent(base, i, c, run, connected)) for i, c in enumerate(cookies)]
    while len(connected) < AGENTS:
        await asyncio.sleep(0.05)
    ready: list = []
    go = asyncio.Event()
    url = base.replace("http://", "ws://") + f"/ws/chat/{public_key}/"
    customers = [asyncio.create_task(customer(url, run, ready, go)) for _ in range(CUSTOMERS)]
    while len(ready) < CUSTOMERS:
        await asyncio.sleep(0.05)
    go.set()  # every customer asks for a person at the same instant
    await asyncio.gather(*customers)
    run.done.set()
    await asyncio.gather(*agents)
    return run


def left_waiting() -> int:
    """Chats nobody ended up holding."""
    from conversations.models import Handoff

    return Handoff.objects.filter(status="open").count()


def main() -> None:
    with bench_services(
        "inbox",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CHAT_IP_MESSAGES_PER_MINUTE="1000000",
        CHAT_IP_CONNECTIONS_PER_MINUTE="1000000",
        PYTHONUNBUFFERED="1",
    ) as env:
        procs: list[subprocess.Popen] = []
        try:
            bot = seed_bot(BOT_YAML)
            cookies = make_agents(bot.workspace)
            fake, fake_url = start_fake(fake_openai(TTFT_S), env)
            procs.append(fake)
            env |= {"OPENAI_API_KEY": "sk-bench", "OPENAI_BASE_URL": fake_url}
            from tests.processes import free_port

            port = free_port()
            procs.append(start_server(env, port))
            run = asyncio.run(scenario(f"http://127.0.0.1:{port}", bot.public_key, cookies))
            still_open = left_waiting()
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=15)

    to_inbox = [(run.in_inbox[c] - t) * 1000 for c, t in run.handoff_seen.items() if c in run.in_inbox]
    to_user = [(run.reply_got[c] - t) * 1000 for c, t in run.reply_sent.items() if c in run.reply_got]
    double = sum(1 for n in run.winners.values() if n > 1)
    lost = (CUSTOMERS - len(to_inbox)) + (CUSTOMERS - len(to_user))
    print(
        f"\nAgent inbox — {CUSTOMERS} customers ask for a person at once; {AGENTS} agents on inbox sockets, "
        f"{CLAIMERS_PER_CHAT} claiming each chat; fake LLM {TTFT_S * 1000:.0f} ms to first token"
    )
    print(f"{'':32} | {'p50 ms':>8} | {'p95 ms':>8} | {'max ms':>8} | {'n':>5}")
    print("-" * 73)
    for name, values in (("handoff → visible in the inbox", to_inbox), ("agent reply → shown in the widget", to_user)):
        print(
            f"{name:32} | {pct(values, 50):8.1f} | {pct(values, 95):8.1f} | {max(values or [float('nan')]):8.1f} | {len(values):5}"
        )
    print(
        f"claims won {sum(run.winners.values())}, refused {dict(run.refused)}; double claims {double}; "
        f"left waiting {still_open}; errors {dict(Counter(run.errors))}"
    )
    print(
        json.dumps(
            {
                "handoff_to_inbox_p50_ms": round(pct(to_inbox, 50), 1),
                "handoff_to_inbox_p95_ms": round(pct(to_inbox, 95), 1),
                "agent_reply_to_user_p50_ms": round(pct(to_user, 50), 1),
                "agent_reply_to_user_p95_ms": round(pct(to_user, 95), 1),
                "double_claims": double,
                "lost": lost,
            }
        )
    )


if __name__ == "__main__":
    main()
