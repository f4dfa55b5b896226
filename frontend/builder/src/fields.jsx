// Small form controls shared by the node forms. Nothing here asks the user to type JSON.
import { useRef } from "react";

export function Field({ label, help, children }) {
  return (
    <label className="sb-field">
      <span className="sb-field-label">{label}</span>
      {children}
      {help && <span className="sb-field-help">{help}</span>}
    </label>
  );
}

// A template text with one-click slot insertion: `{{ slot }}` goes in at the cursor.
export function TemplateField({ label, value, onChange, slots, name, rows = 3, help }) {
  const ref = useRef(null);
  const insert = (slot) => {
    const el = ref.current;
    const text = value || "";
    const at = el ? el.selectionStart ?? text.length : text.length;
    const token = `{{ ${slot} }}`;
    onChange(text.slice(0, at) + token + text.slice(at));
    requestAnimationFrame(() => {
      if (el) {
        el.focus();
        el.selectionStart = el.selectionEnd = at + token.length;
      }
    });
  };
  return (
    <Field label={label} help={help}>
      <textarea ref={ref} name={name} rows={rows} value={value || ""} onChange={(e) => onChange(e.target.value)} />
      {slots.length > 0 && (
        <span className="sb-slot-chips">
          <span className="sb-muted">Insert:</span>
          {slots.map((s) => (
            <button type="button" key={s} className="sb-chip" onClick={() => insert(s)}>
              {s}
            </button>
          ))}
        </span>
      )}
    </Field>
  );
}

export function Select({ label, value, onChange, options, name, empty = "— choose —", help }) {
  return (
    <Field label={label} help={help}>
      <select name={name} value={value ?? ""} onChange={(e) => onChange(e.target.value || null)}>
        <option value="">{empty}</option>
        {options.map((o) => {
          const [v, text] = Array.isArray(o) ? o : [o, o];
          return (
            <option key={v} value={v}>
              {text}
            </option>
          );
        })}
      </select>
    </Field>
  );
}

// Slot names: pick a known slot or type a new one (lowercase, digits, underscores).
export function SlotInput({ label, value, onChange, slots, name, help }) {
  return (
    <Field label={label} help={help || "Pick a slot or type a new name (lowercase letters, digits, _)."}>
      <input
        name={name}
        list="sb-slots"
        value={value || ""}
        onChange={(e) => onChange(e.target.value.toLowerCase().replace(/[^a-z0-9_]/g, "_"))}
      />
      <datalist id="sb-slots">
        {slots.map((s) => (
          <option key={s} value={s} />
        ))}
      </datalist>
    </Field>
  );
}

export function Checklist({ label, options, value, onChange, empty }) {
  const chosen = new Set(value || []);
  return (
    <fieldset className="sb-field">
      <legend className="sb-field-label">{label}</legend>
      {options.length === 0 && <span className="sb-muted">{empty}</span>}
      {options.map((o) => (
        <label key={o} className="sb-check">
          <input
            type="checkbox"
            checked={chosen.has(o)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, o] : [...chosen].filter((x) => x !== o))}
          />
          {o}
        </label>
      ))}
    </fieldset>
  );
}
