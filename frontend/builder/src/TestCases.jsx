// The bot's saved test cases, run against the draft; the publish button warns when they fail.
import { useEffect, useState } from "react";
import { errorMessage, request } from "./api";

export default function TestCases({ cfg, active, onPublished }) {
  const [cases, setCases] = useState([]);
  const [report, setReport] = useState(null);
  const [busy, setBusy] = useState(false);
  const [publishNote, setPublishNote] = useState("");

  const load = async () => {
    const res = await request("GET", cfg.urls.testCases);
    if (res.ok) setCases(res.data.cases);
  };
  // Reloaded whenever the tab is opened: the console may have saved a case meanwhile.
  useEffect(() => {
    if (active) load();
  }, [active]);

  const run = async () => {
    setBusy(true);
    const res = await request("POST", cfg.urls.runTests, { version: "draft" });
    setBusy(false);
    if (res.ok) setReport(res.data);
    return res.ok ? res.data : null;
  };

  const [confirming, setConfirming] = useState(false);

  const publishNow = async () => {
    setConfirming(false);
    const res = await request("POST", cfg.urls.publish, {});
    if (!res.ok) return setPublishNote(errorMessage(res, "Publishing failed."));
    onPublished({ id: res.data.id, number: res.data.number, is_current: true });
    setPublishNote(res.data.created ? `Published version ${res.data.number}.` : `Nothing changed since version ${res.data.number}.`);
  };

  // Publishing runs the test cases first and asks before publishing a draft that fails them.
  const publish = async () => {
    setPublishNote("");
    const result = await run();
    if (result && result.failed > 0) setConfirming(true);
    else if (result) publishNow();
  };

  return (
    <div className="sb-tests" data-testid="test-cases">
      <div className="sb-console-bar">
        <button type="button" onClick={run} disabled={busy || !cases.length}>
          {busy ? "Running…" : "Run test cases"}
        </button>
        {cfg.urls.publish && (
          <button type="button" className="primary" onClick={publish} disabled={busy}>
            Publish…
          </button>
        )}
      </div>
      {confirming && report && (
        <div className="sb-note bad" role="alert" data-testid="publish-warning">
          <b>
            {report.failed} of {report.total} test cases fail on this draft.
          </b>{" "}
          Publishing puts that behaviour in front of your users.
          <div className="sb-confirm">
            <button type="button" className="danger" onClick={publishNow}>
              Publish anyway
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {publishNote && <div className="sb-note">{publishNote}</div>}
      {report && (
        <div className={`sb-note ${report.failed ? "bad" : "good"}`} data-testid="test-summary">
          {report.failed ? `${report.failed} of ${report.total} failing` : `All ${report.total} passing`}
        </div>
      )}
      {!cases.length && <p className="sb-muted">No test cases yet. Chat in the console, then “Save as test case”.</p>}
      <ul className="sb-case-list">
        {cases.map((c) => {
          const r = report?.results?.find((x) => x.id === c.id);
          return (
            <li key={c.id} className={r ? (r.passed ? "pass" : "fail") : ""}>
              <b>{c.name}</b> <span className="sb-muted">{c.steps} step(s)</span>
              {r && !r.passed && (
                <ul>
                  {r.failures.map((f, i) => (
                    <li key={i}>{f}</li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
