import { describeCondition } from "./ConditionBuilder";

// One entry per node kind of bots/schema.py: what the palette shows, the fields a new node
// starts with, and the outputs (source handles) it has. Handles are named after the field
// they fill when connected (`next`, `on_failure`...), or `cond:i` / `route:i` for list items.

export const KINDS = {
  message: {
    title: "Message",
    hint: "Say something",
    color: "#2563eb",
    defaults: () => ({ text: "" }),
    outputs: () => [{ id: "next", label: "" }],
    summary: (f) => f.text,
  },
  ask: {
    title: "Ask",
    hint: "Ask a question and keep the answer",
    color: "#7c3aed",
    defaults: () => ({ slot: "", prompt: "", type: "text", retries: 2, choices: [], reprompt: "" }),
    outputs: () => [
      { id: "next", label: "answered" },
      { id: "on_failure", label: "gave up" },
    ],
    summary: (f) => (f.slot ? `${f.prompt} → ${f.slot} (${f.type})` : f.prompt),
  },
  branch: {
    title: "Branch",
    hint: "Go different ways on conditions",
    color: "#d97706",
    defaults: () => ({ conditions: [{ when: "", next: "" }] }),
    outputs: (f) => [
      ...(f.conditions || []).map((c, i) => ({ id: `cond:${i}`, label: c.when ? `if ${describeCondition(c.when)}` : `condition ${i + 1}` })),
      { id: "else", label: "else" },
    ],
    summary: (f) =>
      (f.conditions || [])
        .filter((c) => c.when)
        .map((c) => describeCondition(c.when))
        .join("; otherwise if ") || "",
  },
  intent: {
    title: "Intent",
    hint: "Route on what the user wants",
    color: "#0891b2",
    defaults: () => ({ routes: [{ intent: "", next: "" }] }),
    outputs: (f) => [
      ...(f.routes || []).map((r, i) => ({ id: `route:${i}`, label: r.intent || `intent ${i + 1}` })),
      { id: "fallback", label: "fallback" },
    ],
    summary: (f) => (f.routes || []).map((r) => r.intent).filter(Boolean).join(", "),
  },
  llm: {
    title: "AI answer",
    hint: "Answer with a prompt, knowledge and tools",
    color: "#059669",
    defaults: () => ({ prompt: "", knowledge_bases: [], tools: [], flows: [] }),
    outputs: () => [{ id: "next", label: "" }],
    summary: (f) => f.prompt && `prompt: ${f.prompt}`,
  },
  tool: {
    title: "Tool",
    hint: "Call an HTTP tool",
    color: "#4b5563",
    defaults: () => ({ tool: "", arguments: {}, result_slot: null }),
    outputs: () => [
      { id: "next", label: "done" },
      { id: "on_error", label: "error" },
    ],
    summary: (f) => f.tool && `calls ${f.tool}`,
  },
  set: {
    title: "Set slots",
    hint: "Set or clear slots",
    color: "#9333ea",
    defaults: () => ({ values: {}, clear: [] }),
    outputs: () => [{ id: "next", label: "" }],
    summary: (f) => Object.keys(f.values || {}).join(", "),
  },
  handoff: {
    title: "Hand off",
    hint: "Pass to a person",
    color: "#dc2626",
    defaults: () => ({ queue: "default", message: "Let me connect you with a person who can help.", transfer_to: "" }),
    outputs: () => [],
    summary: (f) => `queue: ${f.queue}`,
  },
  end: {
    title: "End",
    hint: "End the conversation",
    color: "#111827",
    defaults: () => ({ message: "" }),
    outputs: () => [],
    summary: (f) => f.message,
  },
};

export const KIND_ORDER = ["message", "ask", "branch", "intent", "llm", "tool", "set", "handoff", "end"];

export const SLOT_TYPES = ["text", "number", "email", "phone", "date", "choice", "regex", "digits"];
