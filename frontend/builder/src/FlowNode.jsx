import { memo } from "react";
import { Handle, Position } from "@xyflow/react";
import { KINDS } from "./kinds";

// Memoised: with 200 nodes on the canvas, only the nodes whose data changed re-render.
function FlowNode({ id, data, selected }) {
  const kind = KINDS[data.kind];
  const outputs = kind.outputs(data.fields);
  const summary = kind.summary(data.fields);
  const hasErrors = data.errors && data.errors.length > 0;
  return (
    <div
      className={`sb-node${selected ? " selected" : ""}${hasErrors ? " invalid" : ""}`}
      style={{ "--kind": kind.color }}
      data-testid={`node-${id}`}
      data-kind={data.kind}
    >
      <Handle type="target" position={Position.Top} className="sb-handle-in" />
      <div className="sb-node-head">
        <span className="sb-node-kind">{kind.title}</span>
        {data.entry && <span className="sb-badge start">Start</span>}
        <span className="sb-node-id">{data.label || id}</span>
      </div>
      {summary ? <div className="sb-node-summary">{summary}</div> : <div className="sb-node-summary empty">Not set up yet</div>}
      {hasErrors && (
        // The first problem only, kept short so nodes do not grow over each other; the side panel lists all.
        <div className="sb-node-errors" role="alert" title={data.errors.join("\n")}>
          <span className="sb-node-error">{data.errors[0]}</span>
          {data.errors.length > 1 && <span className="sb-node-more"> +{data.errors.length - 1} more</span>}
        </div>
      )}
      {outputs.length > 0 && (
        <div className="sb-node-outputs">
          {outputs.map((o, i) => (
            <div key={o.id} className="sb-output" data-handle={o.id}>
              <span className="sb-output-label">{o.label}</span>
              <Handle
                type="source"
                id={o.id}
                position={Position.Bottom}
                className={`sb-handle-out${data.badHandles?.includes(o.id) ? " invalid" : ""}`}
                style={{ left: `${((i + 0.5) / outputs.length) * 100}%` }}
                data-testid={`handle-${id}-${o.id}`}
              />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

export default memo(FlowNode);
