// The test console: chat with the draft or a published version, one debug card per turn.
import { useState } from "react";
import { csrfToken, errorMessage, request } from "./api";

function SlotsTable({ before, after }) {
  const names = [...new Set([...Object.keys(before || {}), ...Object.keys(after || {})])].sort();
  if (!names.length) return <div className="sb-muted">No slots yet.</div>;
  return (
    <>
    <table className="sb-slots" data-testid="debug-slots">
      <thead>
        <tr>
          <th>slot</th>
          <th>before</th>
          <th>after</th>
        </tr>
      </thead>
      <tbody>
        {names.map((n) => {
          const a = before?.[n];
          const b = after?.[n];
          const changed = JSON.stringify(a) !== JSON.stringify(b);
          return (
            <tr key={n} className={changed ? "changed" : ""} data-slot={n}>
              <td>{n}</td>
              <td>{a === undefined ? "—" : String(a)}</td>
              <td>{b === undefined ? "—" : String(b)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
    <div className="sb-muted">Personal data (emails, phone numbers…) shows redacted, as it is stored.</div>
    </>
  );
}

function Section({ title, items, render }) {
  if (!items || !items.length) return null;
  return (
    <div className="sb-debug-section">
      <div className="sb-debug-title">{title}</div>
      <ul>{items.map((x, i) => <li key={i}>{render(x)}</li>)}</ul>
    </div>
  );
}

function DebugCard({ trace }) {
  if (!trace) return null;
  return (
    <div className="sb-debug" data-testid="debug-panel">
      <div className="sb-debug-row">
        <b>Reached</b> {trace.flow || "—"} › {trace.node || "—"}
      </div>
      {trace.timings?.total_ms !== undefined && (
        <div className="sb-debug-row">
          <b>Took</b> {Math.round(trace.timings.total_ms)} ms
        </div>
      )}
      {trace.intent && (
        <div className="sb-debug-row">
          <b>Intent</b> {trace.intent} ({Math.round((trace.confidence || 0) * 100)}%)
        </div>
      )}
      <SlotsTable before={trace.slots_before} after={trace.slots_after} />
      <Section
        title="Knowledge retrieved"
        items={trace.chunks}
        render={(c) => `${c.title || c.document || "chunk"} — score ${Number(c.score).toFixed(3)}`}
      />
      <Section
        title="Tool calls"
        items={trace.tool_calls}
        render={(t) => `${t.name}(${JSON.stringify(t.arguments || {})}) → ${t.ok === false ? "error: " : ""}${t.result ?? ""}`}
      />
      <Section
        title="LLM calls"
        items={trace.llm_calls}
        render={(c) => `${c.model}: ${c.input_tokens ?? "?"} in / ${c.output_tokens ?? "?"} out tokens, ${c.latency_ms ?? "?"} ms (${c.outcome || "ok"})`}
      />
      <Section
        title="Escalation rules checked"
        items={trace.escalation_rules}
        render={(r) => `${r.name}: ${r.fired ? "FIRED" : "no"}`}
      />
    </div>
  );
}

// Plays the reply with the bot's voice (only offered when a text-to-speech key is configured).
function PlayButton({ cfg, text, version }) {
  const [state, setState] = useState("");
  const play = async () => {
    setState("…");
    const res = await fetch(cfg.urls.speech, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ text, version }),
    });
    if (!res.ok) return setState("no audio");
    const audio = new Audio(URL.createObjectURL(await res.blob()));
    audio.onended = () => setState("");
    await audio.play().catch(() => setState("press again"));
    setState("playing");
  };
  return (
    <button type="button" className="sb-play" onClick={play} data-testid="play-voice">
      ▶ Play {state && <span className="sb-muted">{state}</span>}
    </button>
  );
}

export default function Console({ cfg, versions }) {
  const [version, setVersion] = useState("draft");
  const [session, setSession] = useState(null);
  const [turns, setTurns] = useState([]);
  const [text, setText] = useState("");
  const [busy, setBusy] = useState(false);
  const [voice, setVoice] = useState(false);
  const [note, setNote] = useState("");

  const restart = () => {
    setSession(null);
    setTurns([]);
    setNote("");
  };

  const send = async (e) => {
    e.preventDefault();
    const said = text.trim();
    if (!said || busy) return;
    setBusy(true);
    setText("");
    const res = await request("POST", cfg.urls.consoleTurn, { text: said, session, version });
    setBusy(false);
    if (!res.ok) {
      setTurns((t) => [...t, { user: said, error: errorMessage(res, "The turn failed.") }]);
      return;
    }
    setSession(res.data.session);
    setTurns((t) => [...t, { user: said, ...res.data }]);
  };

  const saveCase = async () => {
    const name = window.prompt("Name this test case", "Console conversation");
    if (!name) return;
    const steps = turns.filter((t) => !t.error).map((t) => ({ user: t.user, expect: t.expect }));
    const res = await request("POST", cfg.urls.testCases, { name, steps });
    setNote(res.ok ? `Saved test case “${res.data.name}”.` : errorMessage(res, "Could not save."));
  };

  return (
    <div className="sb-console" data-testid="console">
      <div className="sb-console-bar">
        <select aria-label="Version" value={version} onChange={(e) => (setVersion(e.target.value), restart())}>
          <option value="draft">Draft (unsaved changes excluded)</option>
          {versions.map((v) => (
            <option key={v.id} value={v.id}>
              Version {v.number}
            </option>
          ))}
        </select>
        <label className="sb-check">
          <input type="checkbox" checked={voice} onChange={(e) => setVoice(e.target.checked)} /> Voice preview
        </label>
        <button type="button" onClick={restart}>
          Restart
        </button>
        <button type="button" onClick={saveCase} disabled={!turns.length || !session}>
          Save as test case
        </button>
      </div>
      {note && <div className="sb-note">{note}</div>}
      <div className="sb-chat">
        {turns.map((t, i) => (
          <div key={i} className="sb-turn" data-testid="turn">
            <div className="sb-msg user">{t.user}</div>
            {t.error && <div className="sb-msg error">{t.error}</div>}
            {(t.replies || []).map((r, j) => (
              <div key={j} className="sb-msg bot">
                {r.text}
                {voice && r.voice_text !== undefined && (
                  <div className="sb-voice" data-testid="voice-preview">
                    <span className="sb-voice-label">Spoken:</span> {r.voice_text}
                    {cfg.urls.speech && <PlayButton cfg={cfg} text={r.voice_text} version={version} />}
                  </div>
                )}
              </div>
            ))}
            {t.handoff && <div className="sb-msg system">Handed off to a person ({t.handoff.queue}).</div>}
            {t.ended && <div className="sb-msg system">Conversation ended.</div>}
            <details open={i === turns.length - 1}>
              <summary>Debug</summary>
              <DebugCard trace={t.trace} />
            </details>
          </div>
        ))}
      </div>
      <form className="sb-console-input" onSubmit={send}>
        <input
          aria-label="Message"
          placeholder={busy ? "The bot is answering…" : "Type what a user would say"}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" disabled={busy}>
          Send
        </button>
      </form>
    </div>
  );
}
