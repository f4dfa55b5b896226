// Builds a branch condition from dropdowns: [what] [is / is not / more than ...] [value].
// The result is the expression text stored in `when` (the engine's safe expression language).
// A condition this builder cannot read back is shown as an editable expression instead.

const OPS = [
  ["==", "is"],
  ["!=", "is not"],
  [">", "is more than"],
  [">=", "is at least"],
  ["<", "is less than"],
  ["<=", "is at most"],
  ["contains", "contains"],
  ["set", "has a value"],
  ["empty", "is empty"],
];

const NAME = "[a-z_][a-z0-9_]*";
const VALUE = String.raw`"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?`;
const PATTERNS = [
  [new RegExp(`^(${NAME}) (==|!=|>=|<=|>|<) (${VALUE})$`), (m) => ({ left: m[1], op: m[2], value: unquote(m[3]) })],
  [new RegExp(`^(${VALUE}) in (${NAME})$`), (m) => ({ left: m[2], op: "contains", value: unquote(m[1]) })],
  [new RegExp(`^not (${NAME})$`), (m) => ({ left: m[1], op: "empty", value: "" })],
  [new RegExp(`^(${NAME})$`), (m) => ({ left: m[1], op: "set", value: "" })],
];

function unquote(v) {
  return v.startsWith('"') ? JSON.parse(v) : v;
}

function literal(v) {
  return /^-?\d+(\.\d+)?$/.test(v) ? v : JSON.stringify(v);
}

export function parseCondition(when) {
  for (const [re, build] of PATTERNS) {
    const m = (when || "").trim().match(re);
    if (m) return build(m);
  }
  return null;
}

// The condition in words for the canvas: `email contains "example.com"`.
export function describeCondition(when) {
  const c = parseCondition(when);
  if (!c) return when;
  const op = OPS.find(([v]) => v === c.op)[1];
  return ["set", "empty"].includes(c.op) ? `${c.left} ${op}` : `${c.left} ${op} ${JSON.stringify(c.value)}`;
}

export function buildCondition({ left, op, value }) {
  if (!left) return "";
  if (op === "set") return left;
  if (op === "empty") return `not ${left}`;
  if (op === "contains") return `${JSON.stringify(value || "")} in ${left}`;
  return `${left} ${op} ${literal(value || "")}`;
}

export function ConditionRow({ index, when, onChange, onRemove, variables }) {
  const parsed = when === "" ? { left: "", op: "==", value: "" } : parseCondition(when);
  if (!parsed) {
    return (
      <div className="sb-cond" data-testid={`condition-${index}`}>
        <input className="sb-cond-expr" value={when} onChange={(e) => onChange(e.target.value)} />
        <button type="button" className="sb-icon" title="Remove condition" onClick={onRemove}>
          ×
        </button>
      </div>
    );
  }
  const set = (patch) => onChange(buildCondition({ ...parsed, ...patch }));
  const needsValue = !["set", "empty"].includes(parsed.op);
  return (
    <div className="sb-cond" data-testid={`condition-${index}`}>
      <span className="sb-cond-if">{index === 0 ? "If" : "Else if"}</span>
      <select aria-label="What to check" value={parsed.left} onChange={(e) => set({ left: e.target.value })}>
        <option value="">— choose —</option>
        {variables.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
      <select aria-label="Comparison" value={parsed.op} onChange={(e) => set({ op: e.target.value })}>
        {OPS.map(([v, t]) => (
          <option key={v} value={v}>
            {t}
          </option>
        ))}
      </select>
      {needsValue && (
        <input aria-label="Value" value={parsed.value} onChange={(e) => set({ value: e.target.value })} />
      )}
      <button type="button" className="sb-icon" title="Remove condition" onClick={onRemove}>
        ×
      </button>
    </div>
  );
}
