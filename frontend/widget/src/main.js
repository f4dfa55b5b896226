// The Switchboard chat widget: <script src=".../static/switchboard/widget.js" data-bot="PUBLIC_KEY" async>.
// It renders inside a Shadow DOM, talks to /ws/chat/<key>/ (frames: channels_app/protocol.py),
// streams answers, and resumes the same conversation after a reconnect or a page reload.
import { CSS } from "./styles.js";
import { renderMarkdown } from "./markdown.js";

const script = document.currentScript || document.querySelector("script[data-bot]");
const KEY = script && script.dataset.bot;
const BASE = (script && (script.dataset.server || new URL(script.src, location.href).origin)) || location.origin;
const STORE = `switchboard:${KEY}`;
// The widget's own words: the server sends them in the bot's language (channels_app/widget_strings.py);
// these English ones are used only when the settings could not be fetched.
let WORDS = {
  open_chat: "Open chat: {title}", close_chat: "Close chat", conversation: "Conversation",
  typing: "The assistant is typing", person_typing: "{author} is typing", placeholder: "Type your message…",
  message: "Message", send: "Send", quick_replies: "Quick replies", agent: "Agent",
  agent_soon: "An agent will join the conversation shortly.", joined: "{author} joined the conversation",
  resolved: "{author} resolved the conversation", returned: "{author} returned the conversation to the assistant",
  reconnecting: "Reconnecting…", ended: "This conversation has ended.", error: "Something went wrong.",
  unavailable: "Chat is unavailable on this page.",
  rate: "How was this conversation?", rate_score: "{score} out of 5", rated: "Thank you for your feedback.",
};
const t = (key, vars = {}) => (WORDS[key] || key).replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? "");
const FATAL = new Set(["unknown_bot", "origin_not_allowed", "not_published", "channel_off"]);
// Who the visitor is on the site, signed by the site's backend (data-contact-id and
// data-contact-signature, or identify()). Without it the chat is anonymous.
let identity = { id: (script && script.dataset.contactId) || "", signature: (script && script.dataset.contactSignature) || "" };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.appendChild(c);
  return node;
}

// Drawn, not an emoji: many systems (and headless browsers) have no colour emoji font.
function chatIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "28");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z");
  svg.appendChild(path);
  return svg;
}

function saved() {
  try {
    return JSON.parse(localStorage.getItem(STORE)) || {};
  } catch {
    return {};
  }
}

function save(patch) {
  try {
    localStorage.setItem(STORE, JSON.stringify({ ...saved(), ...patch }));
  } catch {
    /* storage disabled: the conversation simply won't survive a reload */
  }
}

class Widget {
  constructor(config) {
    this.config = config;
    this.ws = null;
    this.attempts = 0;
    this.stopped = false;
    this.busy = false;
    this.outbox = [];
    this.streaming = null; // the bot bubble being streamed into
    this.lastId = 0; // the newest stored message this page shows
    this.build();
  }

  build() {
    const host = document.createElement("switchboard-chat");
    // Inline !important beats any author rule, so the page cannot hide, move or restyle the host.
    host.style.setProperty("all", "initial", "important");
    host.style.setProperty("display", "block", "important");
    host.style.setProperty("position", "static", "important");
    const root = host.attachShadow({ mode: "open" });
    root.appendChild(el("style", { text: CSS }));
    const c = this.config;
    this.launcher = el("button", {
      class: "launcher",
      type: "button",
      "aria-label": t("open_chat", { title: c.title }),
      "aria-expanded": "false",
      "aria-controls": "sb-panel",
      onclick: () => (this.panel.hidden ? this.open() : this.close()),
    });
    this.launcher.appendChild(chatIcon());
    this.status = el("div", { class: "status", role: "status", hidden: "" });
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("conversation") });
    this.typing = el("div", { class: "typing", hidden: "", "aria-label": t("typing") },
      el("span"), el("span"), el("span"));
    this.input = el("textarea", { id: "sb-input", rows: "1", placeholder: t("placeholder"), maxlength: "2000" });
    this.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        this.submit();
      }
    });
    this.sendButton = el("button", { type: "submit", text: t("send") });
    const header = el("header", {});
    if (c.avatar_url && /^https?:\/\//.test(c.avatar_url)) header.appendChild(el("img", { src: c.avatar_url, alt: "" }));
    header.appendChild(el("h2", { id: "sb-title", text: c.title }));
    header.appendChild(el("button", { type: "button", "aria-label": t("close_chat"), text: "×", onclick: () => this.close() }));
    this.panel = el(
      "div",
      { class: "panel", id: "sb-panel", role: "dialog", "aria-labelledby": "sb-title", hidden: "" },
      header,
      this.status,
      this.log,
      el(
        "form",
        { onsubmit: (e) => (e.preventDefault(), this.submit()) },
        el("label", { for: "sb-input", class: "sr-only", text: t("message") }),
        this.input,
        this.sendButton,
      ),
    );
    this.panel.addEventListener("keydown", (e) => e.key === "Escape" && this.close());
    const colour = (value, fallback) => (/^#[0-9a-f]{3,8}$/i.test(value || "") ? value : fallback);
    const corner = c.launcher_position === "left" ? "root left" : "root";
    const wrapper = el("div", { class: corner }, this.launcher, this.panel);
    wrapper.style.setProperty("--sb-primary", colour(c.primary_color, "#4f46e5"));
    wrapper.style.setProperty("--sb-text", colour(c.text_color, "#ffffff"));
    root.appendChild(wrapper);
    document.body.appendChild(host);
  }

  open() {
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.input.focus();
    if (!this.ws) this.connect(); // connect lazily: a page view alone starts no conversation
  }

  close() {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
  }

  connect() {
    const url = BASE.replace(/^http/, "ws") + `/ws/chat/${encodeURIComponent(KEY)}/`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      // `after` is what this page already shows: a fresh page (reload) replays the whole conversation.
      // A conversation resumes only for the contact it was started for (after a logout, a new one starts).
      const token = saved().contact === identity.id ? saved().token || "" : "";
      ws.send(JSON.stringify({ type: "start", token, after: this.lastId,
        contact_id: identity.id, contact_signature: identity.signature }));
    };
    ws.onmessage = (e) => this.receive(JSON.parse(e.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.connected = false;
      if (this.stopped) return;
      this.showStatus(t("reconnecting"));
      const delay = Math.min(500 * 2 ** this.attempts++, 10000);
      setTimeout(() => this.connect(), delay);
    };
  }

  send(frame) {
    if (this.connected) this.ws.send(JSON.stringify(frame));
    else this.outbox.push(frame);
  }

  receive(f) {
    const handler = this.handlers[f.type];
    if (handler) handler.call(this, f);
  }

  submit() {
    const text = this.input.value.trim();
    if (!text || this.busy) return;
    this.input.value = "";
    this.startTurn({ type: "message", text }, this.addBubble("user", text, { unconfirmed: true }));
  }

  startTurn(frame, bubble) {
    // A message typed while offline waits in the outbox and must survive the resume's clean-up.
    if (!this.connected) bubble.classList.replace("unconfirmed", "queued");
    this.busy = true;
    this.sendButton.disabled = true;
    this.typing.hidden = false;
    this.log.appendChild(this.typing);
    this.scroll();
    this.send(frame);
  }

  addBubble(role, text, { citations = [], author = "", unconfirmed = false } = {}) {
    const bubble = el("div", { class: `msg ${role}` });
    bubble.dataset.role = role;
    if (unconfirmed) bubble.classList.add("unconfirmed");
    this.fill(bubble, text, citations, author);
    this.log.insertBefore(bubble, this.typing.parentNode === this.log ? this.typing : null);
    this.scroll();
    return bubble;
  }

  fill(bubble, text, citations = [], author = "") {
    bubble.replaceChildren();
    if (author) bubble.appendChild(el("span", { class: "author", text: author }));
    // User text is shown verbatim (white-space: pre-wrap); only bot and agent text is markdown.
    if (bubble.dataset.role === "user") bubble.appendChild(document.createTextNode(text));
    else bubble.appendChild(renderMarkdown(document, text, citations));
    const linked = citations.filter((s) => /^https?:\/\//.test(s.url || ""));
    if (linked.length) {
      const sources = el("div", { class: "sources" }, document.createTextNode("Sources: "));
      for (const s of linked) {
        sources.appendChild(el("a", { href: s.url, target: "_blank", rel: "noopener noreferrer nofollow",
          text: `[${s.index}] ${s.title || s.url}` }));
      }
      bubble.appendChild(sources);
    }
  }

  replies(buttons) {
    this.log.querySelectorAll(".replies").forEach((r) => r.remove());
    if (!buttons || !buttons.length) return;
    const group = el("div", { class: "replies", role: "group", "aria-label": t("quick_replies") });
    for (const b of buttons) {
      group.appendChild(el("button", { type: "button", text: b.title, onclick: () => {
        if (this.busy) return;
        group.remove();
        const bubble = this.addBubble("user", b.title, { unconfirmed: true });
        this.startTurn({ type: "button", title: b.title, payload: b.payload || b.title }, bubble);
      } }));
    }
    this.log.appendChild(group);
    this.scroll();
  }

  // CSAT once the conversation is over: 1 to 5, sent as a `rating` frame (answered with `rated`).
  askRating() {
    if (this.log.querySelector(".rating")) return;
    const group = el("div", { class: "rating", role: "group", "aria-label": t("rate") }, el("span", { text: t("rate") }));
    for (let score = 1; score <= 5; score++) {
      group.appendChild(el("button", { type: "button", text: String(score),
        "aria-label": t("rate_score", { score }), onclick: () => this.send({ type: "rating", score }) }));
    }
    this.log.appendChild(group);
    this.scroll();
  }

  notice(text, alert = false) {
    this.log.appendChild(el("div", { class: "notice", role: alert ? "alert" : "note", text }));
    this.scroll();
  }

  showStatus(text) {
    this.status.textContent = text;
    this.status.hidden = !text;
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  stopAgentTyping() {
    clearTimeout(this.agentTyping);
    if (this.busy) return;
    this.typing.hidden = true;
    this.typing.setAttribute("aria-label", t("typing"));
    this.typing.remove();
  }

  finishTurn() {
    this.busy = false;
    this.sendButton.disabled = false;
    this.typing.hidden = true;
    this.typing.remove();
  }
}

Widget.prototype.handlers = {
  ready(f) {
    save({ token: f.token, contact: identity.id });
    this.connected = true;
    this.attempts = 0;
    if (f.status === "handed_off") this.handoffStatus = t("agent_soon");
    this.showStatus(this.handoffStatus || "");
    if (f.resumed) {
      // Whatever was shown but not confirmed stored is replaced by the replayed history.
      this.log.querySelectorAll(".unconfirmed").forEach((n) => n.remove());
      this.streaming = null;
      if (this.busy && !this.outbox.length) this.finishTurn();
      this.log.querySelectorAll(".queued").forEach((n) => n.classList.replace("queued", "unconfirmed"));
    }
    const pending = this.outbox.splice(0);
    for (const frame of pending) this.ws.send(JSON.stringify(frame));
  },
  history(f) {
    for (const m of f.messages) {
      this.addBubble(m.role, m.text, { citations: m.citations || [], author: m.author || "" });
      this.lastId = m.id;
    }
    const last = f.messages[f.messages.length - 1];
    if (last && last.role === "bot") this.replies(last.buttons);
  },
  text_delta(f) {
    this.typing.hidden = true;
    if (!this.streaming) {
      this.streaming = this.addBubble("bot", "", { unconfirmed: true });
      this.streaming.setAttribute("aria-busy", "true");
      this.streaming.dataset.raw = "";
    }
    this.streaming.dataset.raw += f.text;
    this.fill(this.streaming, this.streaming.dataset.raw);
    this.scroll();
  },
  message(f) {
    this.typing.hidden = true;
    const bubble = this.streaming || this.addBubble("bot", "", { unconfirmed: true });
    bubble.removeAttribute("aria-busy");
    this.fill(bubble, f.text, f.citations || []);
    this.streaming = null;
    this.replies(f.buttons);
  },
  tool_started() {
    this.typing.hidden = false;
  },
  handoff() {
    // The engine has already said the handoff's message as a `message` frame.
    this.handoffStatus = t("agent_soon");
    this.showStatus(this.handoffStatus);
  },
  agent_message(f) {
    this.stopAgentTyping();
    this.addBubble("agent", f.text, { author: f.author || t("agent") });
    if (f.id) this.lastId = f.id;
  },
  agent_joined(f) {
    this.handoffStatus = "";
    this.showStatus("");
    this.notice(t("joined", { author: f.author }));
  },
  agent_typing(f) {
    if (this.busy) return; // the turn's own indicator is showing
    this.typing.setAttribute("aria-label", t("person_typing", { author: f.author }));
    this.typing.hidden = false;
    this.log.appendChild(this.typing);
    this.scroll();
    clearTimeout(this.agentTyping);
    // The inbox repeats the frame every few seconds while the person types; silence means they stopped.
    this.agentTyping = setTimeout(() => this.stopAgentTyping(), 6000);
  },
  agent_left(f) {
    this.stopAgentTyping();
    this.handoffStatus = "";
    this.showStatus("");
    this.notice(t(f.outcome === "resolved" ? "resolved" : "returned", { author: f.author }));
    if (f.outcome === "resolved") this.askRating();
  },
  bot_message(f) {
    this.addBubble("bot", f.text, { citations: f.citations || [] });
    this.replies(f.buttons);
    if (f.id) this.lastId = f.id;
  },
  status(f) {
    this.handoffStatus = f.text || "";
    this.showStatus(this.handoffStatus);
  },
  end() {
    this.notice(t("ended"));
    this.askRating();
  },
  rated() {
    this.log.querySelectorAll(".rating").forEach((r) => r.replaceWith(el("div", { class: "notice", text: t("rated") })));
  },
  done(f) {
    this.log.querySelectorAll(".unconfirmed").forEach((n) => n.classList.remove("unconfirmed"));
    if (f.last_message_id) this.lastId = f.last_message_id;
    this.streaming = null;
    this.finishTurn();
  },
  error(f) {
    if (f.code === "identity_not_verified") {
      console.warn(`Switchboard: ${f.message}`); // the site's setup, not the visitor's business
      return;
    }
    this.notice(f.message || t("error"), true);
    if (FATAL.has(f.code)) {
      this.stopped = true;
      this.showStatus(t("unavailable"));
    }
    if (f.turn && f.code !== "turn_failed") {
      // The message was refused, not answered: show it as not sent (a resume will not replay it).
      const last = [...this.log.querySelectorAll(".msg.user.unconfirmed")].pop();
      if (last) last.classList.replace("unconfirmed", "failed");
    }
    if (this.busy && f.turn) this.finishTurn();
  },
};

let widget = null;

async function boot() {
  if (!KEY || widget) return;
  let config = { title: "Chat with us", primary_color: "#4f46e5", avatar_url: "" };
  try {
    const res = await fetch(`${BASE}/api/v1/chat/widget/${encodeURIComponent(KEY)}`);
    if (res.ok) config = { ...config, ...(await res.json()) };
    WORDS = { ...WORDS, ...(config.strings || {}) };
  } catch {
    /* fall back to the defaults; the socket reports a real problem */
  }
  widget = new Widget(config);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();

export function open() {
  if (widget) widget.open();
}

// After the site's login: the user's id and the site backend's signature of it. A chat already
// open with someone else (or anonymous) starts again as this contact.
export function identify({ id = "", signature = "" } = {}) {
  if (id === identity.id && signature === identity.signature) return;
  identity = { id: String(id), signature: String(signature) };
  if (widget && widget.ws) {
    const old = widget.ws;
    widget.ws = null;
    widget.connected = false;
    widget.lastId = 0;
    widget.log.replaceChildren();
    old.close();
    widget.connect();
  }
}
