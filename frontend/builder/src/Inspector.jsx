// The side panel: one form per node kind (a registry keyed by kind, like the engine's).
import { KINDS, SLOT_TYPES } from "./kinds";
import { Checklist, Field, Select, SlotInput, TemplateField } from "./fields";
import { ConditionRow } from "./ConditionBuilder";

function MessageForm({ f, set, ctx }) {
  return <TemplateField label="Message" name="text" value={f.text} onChange={(text) => set({ text })} slots={ctx.slots} />;
}

function AskForm({ f, set, ctx }) {
  return (
    <>
      <TemplateField label="Question" name="prompt" value={f.prompt} onChange={(prompt) => set({ prompt })} slots={ctx.slots} />
      <SlotInput label="Save the answer in slot" name="slot" value={f.slot} onChange={(slot) => set({ slot })} slots={ctx.slots} />
      <Select
        label="Expected answer"
        name="type"
        value={f.type}
        empty="text"
        onChange={(type) => set({ type: type || "text" })}
        options={SLOT_TYPES.filter((t) => t !== "text").map((t) => [t, t])}
        help="The answer is checked against this type; a wrong answer is asked again."
      />
      {f.type === "choice" && (
        <Field label="Choices (one per line)">
          <textarea
            name="choices"
            rows={3}
            value={(f.choices || []).join("\n")}
            onChange={(e) => set({ choices: e.target.value.split("\n") })}
            onBlur={(e) => set({ choices: e.target.value.split("\n").map((s) => s.trim()).filter(Boolean) })}
          />
        </Field>
      )}
      {f.type === "regex" && (
        <Field label="Pattern the answer must match">
          <input name="pattern" value={f.pattern || ""} onChange={(e) => set({ pattern: e.target.value || null })} />
        </Field>
      )}
      <Field label="Tries before giving up">
        <input
          name="retries"
          type="number"
          min={0}
          max={10}
          value={f.retries ?? 2}
          onChange={(e) => set({ retries: Math.max(0, Math.min(10, parseInt(e.target.value || "0", 10))) })}
        />
      </Field>
      <TemplateField
        label="Ask again with"
        name="reprompt"
        rows={2}
        value={f.reprompt}
        onChange={(reprompt) => set({ reprompt })}
        slots={ctx.slots}
        help="Empty: the question again, with a hint about the expected answer."
      />
    </>
  );
}

function BranchForm({ f, set, ctx, removeItem }) {
  const variables = [...ctx.slots, "intent", "channel"];
  const conditions = f.conditions || [];
  const change = (i, when) => set({ conditions: conditions.map((c, j) => (j === i ? { ...c, when } : c)) });
  return (
    <div className="sb-field">
      <span className="sb-field-label">Conditions (checked in order; else when none holds)</span>
      {conditions.map((c, i) => (
        <ConditionRow
          key={i}
          index={i}
          when={c.when}
          variables={variables}
          onChange={(when) => change(i, when)}
          onRemove={() => removeItem("conditions", "cond", i)}
        />
      ))}
      <button type="button" className="sb-link" onClick={() => set({ conditions: [...conditions, { when: "", next: "" }] })}>
        + Add condition
      </button>
    </div>
  );
}

function IntentForm({ f, set, ctx, removeItem }) {
  const routes = f.routes || [];
  return (
    <div className="sb-field">
      <span className="sb-field-label">Routes (one output per intent, plus fallback)</span>
      {routes.map((r, i) => (
        <div className="sb-cond" key={i}>
          <select
            aria-label="Intent"
            value={r.intent}
            onChange={(e) => set({ routes: routes.map((x, j) => (j === i ? { ...x, intent: e.target.value } : x)) })}
          >
            <option value="">— choose an intent —</option>
            {ctx.bot.intents.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          <button type="button" className="sb-icon" title="Remove route" onClick={() => removeItem("routes", "route", i)}>
            ×
          </button>
        </div>
      ))}
      <button type="button" className="sb-link" onClick={() => set({ routes: [...routes, { intent: "", next: "" }] })}>
        + Add route
      </button>
    </div>
  );
}

function LlmForm({ f, set, ctx }) {
  return (
    <>
      <Select label="Prompt" name="prompt" value={f.prompt} onChange={(prompt) => set({ prompt: prompt || "" })} options={ctx.bot.prompts} />
      <Checklist
        label="Knowledge bases"
        options={ctx.bot.knowledge_bases}
        value={f.knowledge_bases}
        onChange={(knowledge_bases) => set({ knowledge_bases })}
        empty="This bot has no knowledge bases yet."
      />
      <Checklist label="Tools it may call" options={ctx.bot.tools.map((t) => t.name)} value={f.tools} onChange={(tools) => set({ tools })} empty="No tools yet." />
      <Checklist label="Flows it may start" options={ctx.flowNames} value={f.flows} onChange={(flows) => set({ flows })} empty="No other flows." />
    </>
  );
}

function ToolForm({ f, set, ctx }) {
  const tool = ctx.bot.tools.find((t) => t.name === f.tool);
  const params = tool ? Object.keys(tool.parameters?.properties || {}) : [];
  const args = f.arguments || {};
  return (
    <>
      <Select label="Tool" name="tool" value={f.tool} onChange={(name) => set({ tool: name || "", arguments: {} })} options={ctx.bot.tools.map((t) => t.name)} />
      {params.map((p) => (
        <TemplateField
          key={p}
          label={`Argument: ${p}`}
          rows={1}
          value={args[p]}
          onChange={(v) => set({ arguments: { ...args, [p]: v } })}
          slots={ctx.slots}
        />
      ))}
      <SlotInput
        label="Save the result in slot"
        name="result_slot"
        value={f.result_slot}
        onChange={(s) => set({ result_slot: s || null })}
        slots={ctx.slots}
        help="Optional. Later nodes can use it as {{ slot }}."
      />
    </>
  );
}

function SetForm({ f, set, ctx }) {
  const entries = Object.entries(f.values || {});
  const write = (list) => set({ values: Object.fromEntries(list) });
  return (
    <>
      <div className="sb-field">
        <span className="sb-field-label">Set slots</span>
        {entries.map(([slot, value], i) => (
          <div className="sb-cond" key={i}>
            <input
              aria-label="Slot"
              list="sb-slots"
              value={slot}
              onChange={(e) => write(entries.map((x, j) => (j === i ? [e.target.value.toLowerCase().replace(/[^a-z0-9_]/g, "_"), x[1]] : x)))}
            />
            <span>=</span>
            <input aria-label="Value" value={value} onChange={(e) => write(entries.map((x, j) => (j === i ? [x[0], e.target.value] : x)))} />
            <button type="button" className="sb-icon" onClick={() => write(entries.filter((_, j) => j !== i))}>
              ×
            </button>
          </div>
        ))}
        <button type="button" className="sb-link" onClick={() => write([...entries, [`slot_${entries.length + 1}`, ""]])}>
          + Add slot
        </button>
      </div>
      <Checklist label="Clear slots" options={ctx.slots} value={f.clear} onChange={(clear) => set({ clear })} empty="No slots yet." />
    </>
  );
}

function HandoffForm({ f, set, ctx }) {
  return (
    <>
      <Field label="Queue">
        <input name="queue" value={f.queue || ""} onChange={(e) => set({ queue: e.target.value })} />
      </Field>
      <TemplateField label="Message before handing off" name="message" value={f.message} onChange={(message) => set({ message })} slots={ctx.slots} />
      <Field label="Voice: transfer to" help="A phone number or SIP address; empty uses the bot's transfer number.">
        <input name="transfer_to" value={f.transfer_to || ""} onChange={(e) => set({ transfer_to: e.target.value })} />
      </Field>
    </>
  );
}

function EndForm({ f, set, ctx }) {
  return <TemplateField label="Goodbye message" name="message" value={f.message} onChange={(message) => set({ message })} slots={ctx.slots} />;
}

const FORMS = {
  message: MessageForm,
  ask: AskForm,
  branch: BranchForm,
  intent: IntentForm,
  llm: LlmForm,
  tool: ToolForm,
  set: SetForm,
  handoff: HandoffForm,
  end: EndForm,
};

export default function Inspector({ node, ctx, onFields, onLabel, onEntry, onDelete, removeItem }) {
  if (!node) {
    return (
      <div className="sb-inspector empty">
        <p>Select a node to edit it, or drag one from the palette onto the canvas.</p>
        <p className="sb-muted">
          Shortcuts: Ctrl+S save · Ctrl+Z undo · Ctrl+Shift+Z redo · Delete removes · Shift+L tidy up · Shift+F fit
        </p>
      </div>
    );
  }
  const Form = FORMS[node.data.kind];
  const f = node.data.fields;
  return (
    <div className="sb-inspector" data-testid="inspector">
      <h3 style={{ color: KINDS[node.data.kind].color }}>
        {KINDS[node.data.kind].title} <span className="sb-muted">{node.id}</span>
      </h3>
      {node.data.errors.length > 0 && (
        <ul className="sb-errors">
          {node.data.errors.map((e, i) => (
            <li key={i}>{e}</li>
          ))}
        </ul>
      )}
      <Field label="Name on the canvas">
        <input name="label" value={node.data.label} onChange={(e) => onLabel(e.target.value)} placeholder={node.id} />
      </Field>
      <Form f={f} set={(patch) => onFields({ ...f, ...patch })} ctx={ctx} removeItem={removeItem} />
      <div className="sb-inspector-actions">
        {node.data.entry ? (
          <span className="sb-badge start">The flow starts here</span>
        ) : (
          <button type="button" onClick={onEntry}>
            Start the flow here
          </button>
        )}
        <button type="button" className="danger" onClick={onDelete}>
          Delete node
        </button>
      </div>
    </div>
  );
}
