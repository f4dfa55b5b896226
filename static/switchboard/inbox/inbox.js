// The agent inbox (/inbox/): live chats over ws/inbox/ (frames: inbox/frames.py), actions over
// small JSON endpoints (inbox/views.py). On every (re)connect the server sends a full snapshot and
// the open chat is read again, so a dropped socket loses nothing.

const $ = (id) => document.getElementById(id);
const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const LIVE = new Set(["open", "assigned"]);
const CHANNELS = { web: "Website", whatsapp: "WhatsApp", slack: "Slack", sms: "SMS", voice: "Phone", api: "API", studio: "Studio" };
const TRIGGERS = {
  explicit_request: "Asked for a person",
  low_confidence: "The bot did not understand",
  negative_sentiment: "Sounded upset",
  intent: "Topic that always goes to a person",
  keyword: "Said a watched word",
  tool_failures: "The bot's tools failed",
  max_turns: "Long conversation",
  flow: "The flow handed over",
};

const state = {
  me: null,
  workspaces: [],
  handoffs: new Map(),
  agents: new Map(),
  queues: [],
  canned: [],
  current: null, // id of the open handoff
  packet: null,
  seen: new Set(), // handoffs already announced (no second sound on reconnect)
  mode: "reply",
  ws: null,
  attempts: 0,
  lastTyping: 0,
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

function ago(iso) {
  const s = Math.max(0, Math.floor((Date.now() - new Date(iso).getTime()) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

async function api(path, body) {
  const res = await fetch(`/inbox/${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": CSRF },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await res.json().catch(() => ({ detail: "Something went wrong. Please try again." }));
  if (!res.ok) throw Object.assign(new Error(data.detail || "Refused."), { data });
  return data;
}

function banner(text) {
  const b = $("banner");
  b.textContent = text || "";
  b.hidden = !text;
}

// --- the socket ------------------------------------------------------------------------------
function connect() {
  const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws/inbox/");
  state.ws = ws;
  ws.onopen = () => {
    state.attempts = 0;
  };
  ws.onmessage = (e) => receive(JSON.parse(e.data));
  ws.onclose = () => {
    if (state.ws !== ws) return;
    $("connection").textContent = "Reconnecting…";
    $("connection").hidden = false;
    setTimeout(connect, Math.min(500 * 2 ** state.attempts++, 10000));
  };
}

const handlers = {
  snapshot(f) {
    $("connection").hidden = true;
    state.me = f.me;
    state.workspaces = f.workspaces;
    state.queues = f.queues;
    state.canned = f.canned;
    state.handoffs = new Map(f.handoffs.map((h) => [h.id, h]));
    state.agents = new Map(f.agents.map((a) => [`${a.workspace_id}:${a.user_id}`, a]));
    for (const h of f.handoffs) state.seen.add(h.id);
    $("workspace-name").textContent = f.workspaces.map((w) => w.name).join(", ");
    const mine = [...state.agents.values()].find((a) => a.user_id === f.me.id);
    $("presence").value = mine ? mine.presence : "offline";
    renderQueues();
    if (state.current) openChat(state.current); // re-read: messages sent while we were away
  },
  handoff(h) {
    const isNew = !state.seen.has(h.id);
    state.seen.add(h.id);
    if (LIVE.has(h.status)) state.handoffs.set(h.id, h);
    else state.handoffs.delete(h.id);
    if (isNew && h.status === "open") announce(h);
    renderQueues();
    if (h.id === state.current) {
      if (state.packet) state.packet.handoff = h;
      renderHeader();
      renderContext();
    }
  },
  message(f) {
    const p = state.packet;
    if (!p || p.conversation.id !== f.conversation_id) return markUnread(f.conversation_id);
    if (p.messages.some((m) => m.id === f.message.id)) return;
    p.messages.push(f.message);
    appendMessage(f.message);
  },
  presence(a) {
    state.agents.set(`${a.workspace_id}:${a.user_id}`, a);
    renderTransfer();
  },
  error(f) {
    $("connection").textContent = f.message;
    $("connection").hidden = false;
  },
};

function receive(frame) {
  const handler = handlers[frame.type];
  if (handler) handler(frame);
}

// --- notifications ---------------------------------------------------------------------------
function announce(h) {
  beep();
  if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
    new Notification("A customer is waiting", { body: `${h.queue}: ${TRIGGERS[h.trigger] || h.reason}`, tag: `handoff-${h.id}` });
  }
}

function beep() {
  try {
    const ctx = (beep.ctx ||= new AudioContext());
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.35);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.35);
  } catch {
    /* no audio output: the list still shows it */
  }
}

function markUnread(conversationId) {
  const item = document.querySelector(`[data-conversation="${conversationId}"]`);
  if (item) item.classList.add("unread");
}

// --- the queue list --------------------------------------------------------------------------
function renderQueues() {
  const nav = $("queue-list");
  const all = [...state.handoffs.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
  const mine = all.filter((h) => h.status === "assigned" && h.assigned_to && h.assigned_to.id === state.me.id);
  const waiting = all.filter((h) => h.status === "open");
  const others = all.filter((h) => h.status === "assigned" && !mine.includes(h));
  const names = [...new Set([...state.queues.map((q) => q.name), ...waiting.map((h) => h.queue)])].sort();
  const sections = [el("section", {}, heading("My chats", mine.length), list(mine, "Nothing assigned to you."))];
  if (!names.length) sections.push(el("section", { "data-queue": "" }, heading("Waiting", 0), list([], "Nobody waiting.")));
  for (const name of names) {
    const items = waiting.filter((h) => h.queue === name);
    sections.push(el("section", { "data-queue": name }, heading(name, items.length, true), list(items, "Nobody waiting.")));
  }
  if (others.length) sections.push(el("section", {}, heading("With other agents", others.length), list(others)));
  nav.replaceChildren(...sections);
  document.title = waiting.length ? `(${waiting.length}) Inbox · Switchboard` : "Inbox · Switchboard";
  renderTransfer();
}

function heading(text, count, queue = false) {
  return el("h3", { class: queue ? "queue-name" : "" }, el("span", { text }), el("span", { class: "count", text: String(count) }));
}

function list(items, emptyText) {
  if (!items.length) return emptyText ? el("p", { class: "none", text: emptyText }) : null;
  return el("ul", {}, ...items.map(item));
}

function item(h) {
  const who = h.contact || `Visitor #${h.conversation_id}`;
  return el(
    "li",
    {},
    el(
      "button",
      {
        type: "button",
        class: `handoff${h.id === state.current ? " active" : ""}`,
        "data-handoff": h.id,
        "data-conversation": h.conversation_id,
        "aria-current": h.id === state.current ? "true" : null,
        onclick: () => openChat(h.id),
      },
      el("span", { class: "row" }, el("strong", { text: who }), el("span", { class: "wait", "data-since": h.created_at, text: ago(h.created_at) })),
      el("span", { class: "row muted" }, el("span", { class: `chip ch-${h.channel}`, text: CHANNELS[h.channel] || h.channel }), el("span", { class: "reason", text: TRIGGERS[h.trigger] || h.reason })),
      h.fallback ? el("span", { class: "row flag", text: h.fallback === "closed" ? "Arrived out of hours: callback offered" : "Waited too long: callback offered" }) : null,
      h.status === "assigned" && h.assigned_to && h.assigned_to.id !== state.me.id ? el("span", { class: "row muted", text: `With ${h.assigned_to.name}` }) : null,
    ),
  );
}

function tick() {
  for (const node of document.querySelectorAll("[data-since]")) node.textContent = ago(node.dataset.since);
}

// --- the open chat ---------------------------------------------------------------------------
async function openChat(id) {
  state.current = id;
  banner("");
  let packet;
  try {
    packet = await api(`handoffs/${id}/`);
  } catch (err) {
    banner(err.message);
    return;
  }
  if (state.current !== id) return;
  state.packet = packet;
  $("empty").hidden = true;
  $("thread").hidden = false;
  renderHeader();
  $("log").replaceChildren();
  for (const m of packet.messages) appendMessage(m);
  renderContext();
  renderQueues();
}

function owned() {
  const h = state.packet && state.packet.handoff;
  return h && h.status === "assigned" && h.assigned_to && h.assigned_to.id === state.me.id;
}

function renderHeader() {
  const p = state.packet;
  const h = p.handoff;
  $("thread-title").textContent = p.conversation.contact || `Visitor #${p.conversation.id}`;
  const status = {
    open: "Waiting for an agent",
    assigned: h.assigned_to ? `With ${h.assigned_to.id === state.me.id ? "you" : h.assigned_to.name}` : "Assigned",
    resolved: "Resolved",
    returned: "Back with the bot",
    callback: "Callback requested",
  }[h.status];
  $("thread-sub").textContent = `${CHANNELS[p.conversation.channel] || p.conversation.channel} · ${p.conversation.bot} · queue ${h.queue} · ${status}`;
  const live = LIVE.has(h.status);
  $("claim").hidden = h.status !== "open";
  $("return").disabled = !live;
  $("resolve").disabled = !live;
  $("transfer").disabled = !live;
  const canReply = owned();
  $("tab-reply").disabled = !canReply;
  if (!canReply && state.mode === "reply") setMode("note");
  if (canReply && !$("text").value) setMode("reply");
  $("composer-hint").textContent = canReply
    ? ""
    : live
      ? "Claim this chat to reply. Notes are only seen by your team."
      : "This chat is closed. Notes are only seen by your team.";
}

function appendMessage(m) {
  const log = $("log");
  const who = { user: "Customer", bot: "Bot", agent: m.author || "Agent", note: `Note · ${m.author}`, system: "System" }[m.role] || m.role;
  const body = el("div", { class: "text", text: m.text });
  const li = el("li", { class: `msg ${m.role}`, "data-id": m.id }, el("div", { class: "meta" }, el("span", { text: who }), el("time", { datetime: m.created_at, text: clock(m.created_at) })), body);
  if (m.citations && m.citations.length) {
    li.append(el("div", { class: "cites" }, document.createTextNode("Sources: "), ...m.citations.map((c) => (c.url && /^https?:\/\//.test(c.url) ? el("a", { href: c.url, target: "_blank", rel: "noopener noreferrer", text: `[${c.index}] ${c.title}` }) : el("span", { text: `[${c.index}] ${c.title} ` })))));
  }
  if (m.buttons && m.buttons.length) li.append(el("div", { class: "cites", text: `Buttons: ${m.buttons.map((b) => b.title).join(" · ")}` }));
  if (m.delivery === "failed") li.append(el("div", { class: "flag", text: "Not delivered" }));
  log.append(li);
  log.scrollTop = log.scrollHeight;
}

function dl(entries) {
  const rows = entries.filter(([, v]) => v !== undefined && v !== null && v !== "");
  if (!rows.length) return el("p", { class: "none", text: "Nothing yet." });
  return el("dl", {}, ...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: typeof v === "object" ? JSON.stringify(v) : String(v) })]));
}

function renderContext() {
  const p = state.packet;
  if (!p) return;
  const why = p.why || {};
  const mood = typeof why.mood === "number" ? why.mood : null;
  const sections = [
    el("section", {}, el("h3", { text: "Why the bot handed over" }), dl([
      ["Reason", TRIGGERS[why.trigger] || p.handoff.reason],
      ["Rule", why.rule],
      ["Asked for a person", why.explicit_ask === undefined ? "" : why.explicit_ask ? "Yes" : "No"],
      ["Mood", mood === null ? "" : `${mood <= -0.5 ? "Frustrated" : mood <= -0.05 ? "Unhappy" : mood < 0.05 ? "Neutral" : "Positive"} (${mood})`],
      ["Understood", why.intent ? `${why.intent} (${Math.round((why.confidence || 0) * 100)}% sure)` : why.low_confidence_streak ? `Not understood ${why.low_confidence_streak}× in a row` : ""],
      ["Tool failures", why.tool_failures || ""],
    ])),
    el("section", {}, el("h3", { text: "Summary" }), el("p", { class: "summary", text: p.summary || "No summary." })),
    el("section", {}, el("h3", { text: "Collected details" }), dl(Object.entries(p.slots || {}))),
    el("section", {}, el("h3", { text: "Customer" }), dl([
      ["Channel", CHANNELS[p.conversation.channel] || p.conversation.channel],
      ["Identity", p.conversation.contact || "Anonymous website visitor"],
      ["Started", new Date(p.conversation.started_at).toLocaleString()],
      ["Messages to the bot", p.conversation.turns],
      ...Object.entries(p.facts || {}),
    ])),
  ];
  if (p.ticket) sections.push(el("section", {}, el("h3", { text: "Callback requested" }), dl([[p.ticket.kind === "email" ? "Email" : "Phone", p.ticket.contact]])));
  if (p.tool_calls.length) {
    sections.push(el("section", {}, el("h3", { text: "The bot's tool calls" }), el("ul", { class: "tools" }, ...p.tool_calls.flatMap((t) => t.tools.map((c) => el("li", {}, el("code", { text: c.name || "tool" }), el("span", { class: "muted", text: ` ${c.ok === false ? "failed" : "ok"} ${JSON.stringify(c.arguments || {})}` })))))));
  }
  $("context").replaceChildren(el("h2", { text: "Context" }), ...sections);
}

function renderTransfer() {
  const select = $("transfer");
  const p = state.packet;
  const options = [el("option", { value: "", text: "Transfer…" })];
  if (p) {
    const mine = state.queues.filter((q) => q.workspace_id === p.handoff.workspace_id);
    for (const q of mine) if (q.name !== p.handoff.queue) options.push(el("option", { value: `queue:${q.name}`, text: `Queue: ${q.name}` }));
    for (const a of state.agents.values()) {
      if (a.user_id !== state.me.id && a.workspace_id === p.handoff.workspace_id) options.push(el("option", { value: `agent:${a.user_id}`, text: `${a.name} (${a.presence})` }));
    }
  }
  select.replaceChildren(...options);
}

// --- actions ---------------------------------------------------------------------------------
async function act(path, body = {}) {
  banner("");
  try {
    const data = await api(`handoffs/${state.current}/${path}`, body);
    if (data.handoff) handlers.handoff(data.handoff);
    return data;
  } catch (err) {
    banner(err.message);
    return null;
  }
}

function setMode(mode) {
  state.mode = mode;
  $("tab-reply").setAttribute("aria-selected", String(mode === "reply"));
  $("tab-note").setAttribute("aria-selected", String(mode === "note"));
  $("composer").classList.toggle("noting", mode === "note");
  $("text").placeholder = mode === "note" ? "Write a private note for your team…" : "Type a reply… (/ for canned replies, Enter to send)";
  $("send").textContent = mode === "note" ? "Add note" : "Send";
}

async function send() {
  const text = $("text").value.trim();
  if (!text || !state.current) return;
  $("send").disabled = true;
  const data = await act(state.mode === "note" ? "note" : "reply", { text });
  $("send").disabled = false;
  if (data && data.message) {
    $("text").value = "";
    handlers.message({ conversation_id: state.packet.conversation.id, message: data.message });
  }
}

function showCanned() {
  const value = $("text").value;
  const box = $("canned");
  if (!value.startsWith("/")) return (box.hidden = true);
  const wanted = value.slice(1).toLowerCase();
  const ws = state.packet && state.packet.handoff.workspace_id;
  const matches = state.canned.filter((c) => c.workspace_id === ws && c.shortcut.startsWith(wanted));
  box.replaceChildren(...matches.map((c) => el("li", { role: "option", tabindex: "0", onclick: () => useCanned(c), onkeydown: (e) => e.key === "Enter" && (e.preventDefault(), useCanned(c)) }, el("code", { text: `/${c.shortcut}` }), el("span", { text: c.text }))));
  box.hidden = !matches.length;
}

function useCanned(c) {
  $("text").value = c.text;
  $("canned").hidden = true;
  $("text").focus();
}

function typing() {
  const now = Date.now();
  if (!owned() || state.mode !== "reply" || now - state.lastTyping < 2500) return;
  state.lastTyping = now;
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: "typing", conversation_id: state.packet.conversation.id }));
}

$("claim").addEventListener("click", async () => {
  const data = await act("claim");
  if (data) openChat(state.current);
});
$("return").addEventListener("click", () => act("return"));
$("resolve").addEventListener("click", () => act("resolve"));
$("transfer").addEventListener("change", async (e) => {
  const [kind, value] = e.target.value.split(":");
  e.target.value = "";
  if (kind === "queue") await act("transfer", { queue: value });
  else if (kind === "agent") await act("transfer", { agent_id: Number(value) });
});
$("tab-reply").addEventListener("click", () => setMode("reply"));
$("tab-note").addEventListener("click", () => setMode("note"));
$("composer").addEventListener("submit", (e) => (e.preventDefault(), send()));
$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && $("canned").hidden) {
    e.preventDefault();
    send();
  }
});
$("text").addEventListener("input", () => (showCanned(), typing()));
$("presence").addEventListener("change", async (e) => {
  for (const w of state.workspaces) await api("presence", { workspace_id: w.id, presence: e.target.value }).catch((err) => banner(err.message));
});
$("notify").addEventListener("click", async () => {
  if ("Notification" in window) await Notification.requestPermission();
  $("notify").hidden = !("Notification" in window) || Notification.permission === "granted";
});
if ("Notification" in window && Notification.permission === "granted") $("notify").hidden = true;

setMode("reply");
setInterval(tick, 1000);
connect();
