"""Flow builder smoothness: open flows of 50, 200 and 500 nodes in headless chromium, then pan
the canvas and type into a node's form while recording the browser's frame times.

Starts embedded Postgres + Redis and one real uvicorn; drives Debian's chromium through
Playwright. Prints, per flow size, the time until every node is on the mini-map and the frame
times (p50/p95) while panning and while typing. A frame under ~17 ms is 60 fps; under ~33 ms
still feels smooth. Ends with one JSON line of headline figures.

Run from the repository root: `.venv/bin/python bench/builder.py`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from support import bench_services, pct, setup_django  # noqa: E402

from tests.playwright_support import launch  # noqa: E402

SIZES = (50, 200, 500)

# Records the time between animation frames until told to stop.
FRAME_RECORDER = """() => {
  window.__frames = []; window.__recording = true; let last = performance.now();
  const tick = (t) => { window.__frames.push(t - last); last = t; if (window.__recording) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""


def chain(n: int) -> dict:
    """A flow of n steps: messages, with an ask and a branch every tenth step, all connected."""
    ids = [f"step_{i}" for i in range(n)]
    nodes = []
    for i, node_id in enumerate(ids):
        nxt = ids[i + 1] if i + 1 < n else None
        if i % 10 == 3:
            nodes.append({"id": node_id, "kind": "ask", "slot": f"answer_{i}", "prompt": "Your answer?", "next": nxt})
        elif i % 10 == 7 and nxt:
            nodes.append({"id": node_id, "kind": "branch", "conditions": [{"when": f"answer_{i - 4}", "next": nxt}]})
        else:
            nodes.append({"id": node_id, "kind": "message", "text": f"Step {i}", **({"next": nxt} if nxt else {})})
    return {"entry": ids[0], "nodes": nodes}


def seed() -> tuple[list[int], str]:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bots.models import Bot, Workspace
    from bots.services import create_flow

    workspace, _ = Workspace.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    bot_ids = []
    for n in SIZES:
        bot = Bot.objects.create(workspace=workspace, name=f"Bench {n}", slug=f"bench-{n}")
        create_flow(bot=bot, name="main", is_entry=True, graph=chain(n))
        bot_ids.append(bot.id)
    user = get_user_model().objects.create_superuser("bench", password="bench-password-123")
    client = Client()
    client.force_login(user)
    return bot_ids, client.cookies["sessionid"].value


def measure(browser, base: str, session: str, bot_id: int, n: int) -> dict:
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
    page = context.new_page()
    started = time.perf_counter()
    page.goto(f"{base}/studio/bots/{bot_id}/builder/")
    page.locator(".react-flow__minimap-node").nth(n - 1).wait_for(state="attached", timeout=120_000)
    page.get_by_test_id("validity").filter(has_text="No problems").wait_for(timeout=120_000)
    load_ms = (time.perf_counter() - started) * 1000

    page.get_by_role("button", name="Fit", exact=True).click()
    page.mouse.move(600, 450)
    page.mouse.wheel(0, -500)
    page.wait_for_timeout(300)
    page.evaluate(FRAME_RECORDER)
    for dx, dy in ((250, 120), (-400, -200), (300, 250), (-150, -170)):
        page.mouse.down()
        page.mouse.move(600 + dx, 450 + dy, steps=25)
        page.mouse.up()
        page.mouse.move(600, 450)
    page.evaluate("() => { window.__recording = false; }")
    pan = page.evaluate("() => window.__frames")[1:]

    node = page.locator(".sb-node[data-kind=message]").first
    node.locator(".sb-node-head").click()
    field = page.get_by_test_id("inspector").locator("textarea[name=text]")
    field.click()
    page.evaluate(FRAME_RECORDER)
    field.press_sequentially(" edited while measuring", delay=30)
    page.evaluate("() => { window.__recording = false; }")
    typing = page.evaluate("() => window.__frames")[1:]
    context.close()
    return {
        "n": n,
        "load_ms": load_ms,
        "pan_p50": pct(pan, 50),
        "pan_p95": pct(pan, 95),
        "type_p50": pct(typing, 50),
        "type_p95": pct(typing, 95),
    }


def main() -> None:
    from playwright.sync_api import sync_playwright

    with bench_services("builder", ALLOWED_HOSTS="127.0.0.1,localhost,testserver", PYTHONUNBUFFERED="1"):
        server = None
        try:
            bot_ids, session = seed()
            from tests.processes import start_asgi

            server, base = start_asgi(dict(os.environ))
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs a loop in this thread
            with sync_playwright() as p:
                browser = launch(p)
                rows = [measure(browser, base, session, bot_id, n) for bot_id, n in zip(bot_ids, SIZES, strict=True)]
                browser.close()
        finally:
            if server is not None:
                server.stop()

    print("\nFlow builder in headless chromium (software rendering, 2 cores)")
    print(
        f"{'nodes':>5} | {'open':>8} | {'pan frame p50':>13} | {'pan frame p95':>13} | {'type frame p50':>14} | {'type frame p95':>14}"
    )
    for r in rows:
        print(
            f"{r['n']:>5} | {r['load_ms']:>5.0f} ms | {r['pan_p50']:>10.1f} ms | {r['pan_p95']:>10.1f} ms | "
            f"{r['type_p50']:>11.1f} ms | {r['type_p95']:>11.1f} ms"
        )
    at200 = next(r for r in rows if r["n"] == 200)
    print(
        json.dumps(
            {
                "builder_200_open_ms": round(at200["load_ms"]),
                "builder_200_pan_frame_p95_ms": round(at200["pan_p95"], 1),
                "builder_200_typing_frame_p95_ms": round(at200["type_p95"], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
