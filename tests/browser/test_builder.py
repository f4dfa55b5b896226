"""The flow builder and test console in a real browser, as a non-developer would use them:
build a small flow from an empty canvas by dragging and clicking, see and fix a validation
error, save, reload, then talk to it in the console and watch the slots fill."""

from __future__ import annotations

import re

import pytest
import yaml
from django.test import Client
from playwright.sync_api import expect

from bots.models import BotVersion, Flow, Workspace
from bots.schema import FlowGraph
from bots.yaml_io import import_bot
from studio.models import BotTestCase
from tests.playwright_support import screenshot
from tests.studio.factories import EMAIL_FLOW, make_bot, make_builder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shot(page, name: str):
    screenshot(page, "builder", name)


def open_builder(browser, base: str, bot, user):
    """A logged-in page on the bot's builder (the session cookie a login would set)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1500, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    page = context.new_page()
    page.goto(f"{base}/studio/bots/{bot.id}/builder/")
    expect(page.get_by_test_id("palette")).to_be_visible()
    return page


def drop(page, kind: str, x: float, y: float):
    """Drag a node kind from the palette onto the canvas at (x, y) of the canvas."""
    page.locator(f".sb-palette-item[data-kind={kind}]").drag_to(
        page.locator(".react-flow__pane"), target_position={"x": x, "y": y}
    )


def connect(page, source: str, handle: str, target: str):
    """Drag from a node's output handle to another node's input, as with a mouse."""
    start = page.get_by_test_id(f"handle-{source}-{handle}").bounding_box()
    end = page.locator(f"[data-testid=node-{target}] .react-flow__handle.target").bounding_box()
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def select(page, node_id: str):
    page.get_by_test_id(f"node-{node_id}").locator(".sb-node-head").click()
    expect(page.get_by_test_id("inspector")).to_contain_text(node_id)


def without_positions(graph: dict) -> dict:
    data = FlowGraph.model_validate(graph).model_dump(mode="json", exclude_none=True)
    for node in data["nodes"]:
        node.pop("position", None)
    return data


def test_build_a_flow_by_dragging_fix_it_save_reload_and_run_it(browser, asgi_server):
    bot = make_bot()
    page = open_builder(browser, asgi_server, bot, make_builder(bot.workspace))
    expect(page.get_by_text("Drag a node from the left to start this flow.")).to_be_visible()

    # A greeting: the first node dropped on an empty flow is where it starts.
    drop(page, "message", 300, 60)
    inspector = page.get_by_test_id("inspector")
    inspector.locator("textarea[name=text]").fill("Hello! Let's get you signed up.")
    expect(page.get_by_test_id("node-message_1")).to_contain_text("Start")

    # An ask for an email, validated as an email.
    drop(page, "ask", 300, 230)
    inspector.locator("textarea[name=prompt]").fill("What is your email?")
    inspector.locator("input[name=slot]").fill("email")
    inspector.locator("select[name=type]").select_option("email")
    connect(page, "message_1", "next", "ask_1")

    # A branch built from dropdowns, no expression typed.
    drop(page, "branch", 300, 400)
    inspector.get_by_label("What to check").select_option("email")
    inspector.get_by_label("Comparison").select_option("contains")
    inspector.get_by_label("Value").fill("example.com")
    connect(page, "ask_1", "next", "branch_1")

    # A message using the slot, inserted with its suggestion chip; not connected yet.
    drop(page, "message", 300, 590)
    inspector.locator("textarea[name=text]").fill("Thanks ")
    inspector.get_by_role("button", name="email").click()
    inspector.locator("textarea[name=text]").press("End")
    inspector.locator("textarea[name=text]").type(", you are on the list.")

    # Not connected: the message can never run, and the branch's condition leads nowhere.
    unconnected = page.get_by_test_id("node-message_2")
    expect(unconnected.locator(".sb-node-errors")).to_contain_text("no path leads to step “message_2”")
    expect(page.get_by_test_id("node-branch_1").locator(".sb-node-errors")).to_contain_text("conditions[0].next")
    expect(page.get_by_test_id("handle-branch_1-cond:0")).to_have_class(re.compile("invalid"))
    expect(page.get_by_test_id("validity")).to_have_text("2 problems")
    shot(page, "1-validation-error-on-unconnected-node")

    connect(page, "branch_1", "cond:0", "message_2")
    expect(page.locator(".sb-node-errors")).to_have_count(0)
    expect(page.get_by_test_id("validity")).to_have_text("No problems")

    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("save-status")).to_have_text("Saved")
    shot(page, "2-saved")

    saved = Flow.objects.get(bot=bot).graph
    yaml_bot = import_bot(
        workspace=Workspace.objects.create(name="From YAML", slug="from-yaml"),
        text=yaml.safe_dump(
            {
                "switchboard": 1,
                "name": "From YAML",
                "slug": "from-yaml",
                "flows": [{"name": "main", "is_entry": True, "graph": EMAIL_FLOW}],
            }
        ),
    )
    assert without_positions(saved) == without_positions(yaml_bot.flows.get().graph)

    page.reload()
    for node_id in ("message_1", "ask_1", "branch_1", "message_2"):
        expect(page.get_by_test_id(f"node-{node_id}")).to_be_visible()
    expect(page.locator(".react-flow__edge")).to_have_count(3)
    expect(page.get_by_test_id("validity")).to_have_text("No problems")
    select(page, "message_2")
    expect(inspector.locator("textarea[name=text]")).to_have_value("Thanks {{ email }}, you are on the list.")
    select(page, "branch_1")
    expect(inspector.get_by_label("Value")).to_have_value("example.com")
    shot(page, "3-reloaded")

    # The test console runs the saved draft; the debug panel shows the slots filling.
    page.get_by_role("button", name="Test console").click()
    console = page.get_by_test_id("console")
    console.get_by_label("Message").fill("hi")
    console.get_by_label("Message").press("Enter")
    expect(console.locator(".sb-msg.bot").last).to_have_text("What is your email?")
    expect(console.get_by_test_id("debug-panel").last).to_contain_text("main › ask_1")
    console.get_by_label("Voice preview").check()
    console.get_by_label("Message").fill("ann@example.com")
    console.get_by_label("Message").press("Enter")
    expect(console.get_by_test_id("turn")).to_have_count(2)
    panel = console.get_by_test_id("debug-panel").last
    expect(panel).to_contain_text("main › message_2")
    expect(panel.locator("tr.changed[data-slot=email]")).to_be_visible()
    expect(console.get_by_test_id("voice-preview").last).to_contain_text("you are on the list")
    shot(page, "4-console-slots-filled")

    # The conversation becomes a test case, which passes on the draft.
    page.once("dialog", lambda d: d.accept("Signup with an example.com email"))
    console.get_by_role("button", name="Save as test case").click()
    expect(console).to_contain_text("Saved test case “Signup with an example.com email”")
    page.get_by_role("button", name="Test cases").click()
    page.get_by_role("button", name="Run test cases").click()
    expect(page.get_by_test_id("test-summary")).to_have_text("All 1 passing")
    shot(page, "5-test-cases-passing")


def test_two_builders_on_one_flow_get_a_conflict_instead_of_overwriting(browser, asgi_server):
    bot = make_bot(graph=EMAIL_FLOW)
    first = open_builder(browser, asgi_server, bot, make_builder(bot.workspace, "ann"))
    second = open_builder(browser, asgi_server, bot, make_builder(bot.workspace, "bob"))

    for page, text in ((first, "Hi from Ann"), (second, "Hi from Bob")):
        select(page, "message_1")
        page.get_by_test_id("inspector").locator("textarea[name=text]").fill(text)
    first.get_by_role("button", name="Save").click()
    expect(first.get_by_test_id("save-status")).to_have_text("Saved")

    second.get_by_role("button", name="Save").click()
    expect(second.get_by_test_id("conflict")).to_contain_text("Someone saved this flow after you opened it")
    shot(second, "6-conflict")
    assert Flow.objects.get(bot=bot).graph["nodes"][0]["text"] == "Hi from Ann"

    second.get_by_role("button", name="Load their version").click()
    expect(second.get_by_test_id("node-message_1")).to_contain_text("Hi from Ann")
    expect(second.get_by_test_id("conflict")).to_have_count(0)


def test_shortcuts_undo_redo_tidy_up_and_the_publish_warning(browser, asgi_server):
    bot = make_bot(graph=EMAIL_FLOW)
    BotTestCase.objects.create(
        bot=bot, name="Asks for a phone number", steps=[{"user": "hi", "expect": {"contains": ["phone"]}}]
    )
    page = open_builder(browser, asgi_server, bot, make_builder(bot.workspace))
    edges = page.locator(".react-flow__edge")
    expect(edges).to_have_count(3)

    select(page, "message_2")
    page.get_by_test_id("node-message_2").press("Delete")
    expect(page.get_by_test_id("node-message_2")).to_have_count(0)
    expect(edges).to_have_count(2)
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("node-message_2")).to_be_visible()
    expect(edges).to_have_count(3)
    page.keyboard.press("Control+Shift+z")
    expect(page.get_by_test_id("node-message_2")).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(edges).to_have_count(3)

    page.keyboard.press("Shift+L")  # tidy up: one column, top to bottom, nothing overlapping
    page.wait_for_timeout(300)
    boxes = [page.get_by_test_id(f"node-{n}").bounding_box() for n in ("message_1", "ask_1", "branch_1", "message_2")]
    assert all(a["y"] + a["height"] <= b["y"] for a, b in zip(boxes, boxes[1:], strict=False))
    expect(page.locator(".react-flow__minimap")).to_be_visible()
    shot(page, "7-tidied-up")

    # Publishing a draft that fails a test case asks first.
    page.get_by_role("button", name="Test cases").click()
    page.get_by_role("button", name="Publish…").click()
    warning = page.get_by_test_id("publish-warning")
    expect(warning).to_contain_text("1 of 1 test cases fail on this draft.")
    expect(page.get_by_test_id("test-cases")).to_contain_text("should contain 'phone'")
    shot(page, "8-publish-warning")
    page.get_by_role("button", name="Cancel").click()
    expect(warning).to_have_count(0)
    assert not BotVersion.objects.filter(bot=bot).exists()

    page.get_by_role("button", name="Publish…").click()
    page.get_by_role("button", name="Publish anyway").click()
    expect(page.get_by_test_id("test-cases")).to_contain_text("Published version 1.")
    assert BotVersion.objects.filter(bot=bot, is_current=True).exists()
    expect(page.get_by_label("Version").locator("option")).to_have_text(
        ["Draft (unsaved changes excluded)", "Version 1"]
    )

    # A new flow; the tidied-up one has unsaved changes, so leaving it asks first.
    asked = []
    page.on("dialog", lambda d: (asked.append(d.type), d.accept("billing" if d.type == "prompt" else None)))
    page.get_by_role("button", name="New flow").click()
    expect(page.get_by_text("Drag a node from the left to start this flow.")).to_be_visible()
    assert asked == ["confirm", "prompt"]
    expect(page.get_by_label("Flow")).to_have_value(str(Flow.objects.get(bot=bot, name="billing").id))


def test_a_flow_of_200_nodes_opens_laid_out_and_can_be_edited_and_saved(browser, asgi_server):
    ids = [f"say_{i}" for i in range(200)]
    graph = {
        "entry": ids[0],
        "nodes": [
            {"id": node_id, "kind": "message", "text": f"Line {i}", **({"next": ids[i + 1]} if i < 199 else {})}
            for i, node_id in enumerate(ids)
        ],
    }
    bot = make_bot(graph=graph)
    page = open_builder(browser, asgi_server, bot, make_builder(bot.workspace))
    expect(page.get_by_test_id("validity")).to_have_text("No problems")
    expect(page.locator(".react-flow__minimap-node")).to_have_count(200)

    page.get_by_role("button", name="Fit", exact=True).click()
    page.mouse.move(600, 400)
    page.mouse.wheel(0, -600)  # zoom in and pan around, as one would to find a node
    for dx in (200, -400, 200):
        page.mouse.down()
        page.mouse.move(600 + dx, 300, steps=10)
        page.mouse.up()
    canvas = page.locator(".sb-canvas").bounding_box()

    def inside(box):
        return box and canvas["y"] + 20 < box["y"] and box["y"] + box["height"] < canvas["y"] + canvas["height"] - 20

    node = next(n for n in page.locator(".sb-node").all() if inside(n.bounding_box()))
    node_id = node.get_attribute("data-testid").removeprefix("node-")
    select(page, node_id)
    page.get_by_test_id("inspector").locator("textarea[name=text]").fill("Edited in a big flow")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("save-status")).to_have_text("Saved")
    shot(page, "9-200-nodes")

    saved = Flow.objects.get(bot=bot).graph["nodes"]
    assert len(saved) == 200
    assert next(n for n in saved if n["id"] == node_id)["text"] == "Edited in a big flow"


def test_every_node_kind_has_a_form_with_the_bots_own_choices(browser, asgi_server):
    bot = make_bot()
    page = open_builder(browser, asgi_server, bot, make_builder(bot.workspace))
    inspector = page.get_by_test_id("inspector")
    for i, kind in enumerate(["message", "ask", "branch", "intent", "llm", "tool", "set", "handoff", "end"]):
        drop(page, kind, 120 + (i % 3) * 260, 60 + (i // 3) * 190)
        expect(page.get_by_test_id(f"node-{kind}_1")).to_be_visible()
        expect(inspector).to_contain_text(f"{kind}_1")

    # An ask without a slot cannot be stored: saving says so, and the node shows why.
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("save-error")).to_contain_text("Not saved")
    expect(page.get_by_test_id("node-ask_1").locator(".sb-node-errors")).to_contain_text("(slot): use lowercase")
    select(page, "ask_1")
    inspector.locator("input[name=slot]").fill("plan")

    select(page, "intent_1")
    inspector.get_by_label("Intent").select_option("cancel")
    expect(page.get_by_test_id("node-intent_1").locator("[data-handle]")).to_have_count(2)  # cancel + fallback
    select(page, "llm_1")
    inspector.locator("select[name=prompt]").select_option("support")
    inspector.get_by_label("order_status").check()
    select(page, "tool_1")
    inspector.locator("select[name=tool]").select_option("order_status")
    inspector.locator("textarea").first.fill("A-1")  # the tool's own parameter, order_id
    select(page, "set_1")
    inspector.get_by_role("button", name="+ Add slot").click()
    inspector.get_by_label("Value").fill("gold")
    select(page, "handoff_1")
    inspector.locator("input[name=queue]").fill("billing")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("save-status")).to_have_text("Saved")
    expect(page.get_by_test_id("save-error")).to_have_count(0)
    expect(page.get_by_test_id("node-ask_1").locator(".sb-node-errors")).not_to_contain_text("(slot)")
    shot(page, "10-every-kind")

    nodes = {n["id"]: n for n in Flow.objects.get(bot=bot).graph["nodes"]}
    assert len(nodes) == 9
    assert nodes["intent_1"]["routes"] == [{"intent": "cancel", "next": ""}]
    assert (nodes["llm_1"]["prompt"], nodes["llm_1"]["tools"]) == ("support", ["order_status"])
    assert (nodes["tool_1"]["tool"], nodes["tool_1"]["arguments"]) == ("order_status", {"order_id": "A-1"})
    assert nodes["set_1"]["values"] == {"slot_1": "gold"}
    assert nodes["handoff_1"]["queue"] == "billing"
