import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  addEdge,
  useEdgesState,
  useNodesInitialized,
  useNodesState,
  useReactFlow,
} from "@xyflow/react";
import FlowNode from "./FlowNode";
import Inspector from "./Inspector";
import Console from "./Console";
import TestCases from "./TestCases";
import { KINDS, KIND_ORDER } from "./kinds";
import { edgeId, fromGraph, makeNode, slotsOf, toGraph } from "./graph";
import { autoLayout } from "./layout";
import { useHistory } from "./history";
import { errorMessage, request, url } from "./api";

const nodeTypes = { flow: FlowNode };
const DRAG_TYPE = "application/x-switchboard-node";

function Palette({ onAdd }) {
  return (
    <aside className="sb-palette" data-testid="palette">
      <div className="sb-palette-title">Drag onto the canvas</div>
      {KIND_ORDER.map((k) => (
        <div
          key={k}
          className="sb-palette-item"
          draggable
          data-kind={k}
          style={{ "--kind": KINDS[k].color }}
          onDragStart={(e) => {
            e.dataTransfer.setData(DRAG_TYPE, k);
            e.dataTransfer.effectAllowed = "move";
          }}
          onDoubleClick={() => onAdd(k)}
          title={`${KINDS[k].hint} (double-click to add)`}
        >
          <b>{KINDS[k].title}</b>
          <span>{KINDS[k].hint}</span>
        </div>
      ))}
    </aside>
  );
}

// The output handle a validation error's field names: "conditions[1].next" -> "cond:1", "next" -> "next".
function handleOf(field) {
  const m = (field || "").match(/^(conditions|routes)\[(\d+)\]/);
  if (m) return `${m[1] === "conditions" ? "cond" : "route"}:${m[2]}`;
  return (field || "").split(".")[0];
}

function errorsByNode(errors) {
  const map = new Map();
  for (const e of errors) {
    if (!e.node) continue;
    if (!map.has(e.node)) map.set(e.node, { messages: [], handles: [] });
    map.get(e.node).messages.push(e.message);
    if (e.field) map.get(e.node).handles.push(handleOf(e.field));
  }
  return map;
}

function Builder({ cfg }) {
  const flowApi = useReactFlow();
  const [flows, setFlows] = useState(cfg.flows);
  const [versions, setVersions] = useState(cfg.versions);
  const [flowId, setFlowId] = useState(cfg.flows[0]?.id ?? null);
  const flowMeta = flows.find((f) => f.id === flowId);
  const [nodes, setNodes, onNodesChange] = useNodesState([]);
  const [edges, setEdges, onEdgesChange] = useEdgesState([]);
  const [entry, setEntry] = useState(null);
  const [revision, setRevision] = useState(null);
  const [saved, setSaved] = useState("");
  const [errors, setErrors] = useState([]);
  const [status, setStatus] = useState("");
  const [saveError, setSaveError] = useState("");
  const [conflict, setConflict] = useState(null);
  const [tab, setTab] = useState("node");
  const history = useHistory();
  const [loaded, setLoaded] = useState(false);
  const validation = useRef(0);
  // Zoom to fit once the loaded nodes have been measured; fitting earlier uses zero sizes.
  const needsFit = useRef(false);
  const measured = useNodesInitialized();
  useEffect(() => {
    if (measured && needsFit.current) {
      needsFit.current = false;
      flowApi.fitView({ padding: 0.2, maxZoom: 1 });
    }
  }, [measured, nodes]);

  const graph = useMemo(() => toGraph(nodes, edges, entry), [nodes, edges, entry]);
  const graphKey = useMemo(() => JSON.stringify(graph), [graph]);
  const dirty = saved !== "" && graphKey !== saved;

  const load = useCallback(
    (data) => {
      const g = fromGraph(data.graph);
      setNodes(g.nodes);
      setEdges(g.edges);
      setEntry(g.entry);
      setRevision(data.revision);
      setSaved(JSON.stringify(toGraph(g.nodes, g.edges, g.entry)));
      history.reset();
      setConflict(null);
      setErrors(data.problems || []);
      validation.current += 1; // answers to checks of the previous graph no longer apply
      setLoaded(true);
      needsFit.current = g.nodes.length > 0;
    },
    [setNodes, setEdges, history, flowApi],
  );

  const reload = useCallback(async () => {
    const res = await request("GET", url(cfg.urls.flow, { flow: flowId }));
    if (res.ok) load(res.data);
    else setStatus(errorMessage(res, "Could not load the flow."));
  }, [cfg, flowId, load]);

  useEffect(() => {
    setLoaded(false);
    if (flowId != null) reload();
  }, [flowId]);

  // Server validation of the whole bot with this flow as edited, debounced while editing.
  useEffect(() => {
    if (flowId == null || !loaded) return undefined;
    const t = setTimeout(async () => {
      const seq = ++validation.current;
      const res = await request("POST", cfg.urls.validate, { flow: flowId, graph });
      // Answers can arrive out of order; only the newest check counts.
      if (res.ok && seq === validation.current) setErrors(res.data.errors.filter((e) => !e.flow || e.flow === flowMeta?.name));
    }, 300);
    return () => clearTimeout(t);
  }, [graphKey, flowId, loaded]);

  // Errors are drawn on the nodes they name, and on the edges leaving the field they name.
  useEffect(() => {
    const byNode = errorsByNode(errors);
    setNodes((ns) =>
      ns.map((n) => {
        const { messages = [], handles = [] } = byNode.get(n.id) || {};
        if (JSON.stringify([messages, handles]) === JSON.stringify([n.data.errors, n.data.badHandles])) return n;
        return { ...n, data: { ...n.data, errors: messages, badHandles: handles } };
      }),
    );
    const bad = new Set(errors.filter((e) => e.node && e.field).map((e) => edgeId(e.node, handleOf(e.field))));
    setEdges((es) =>
      es.map((e) => {
        const invalid = bad.has(e.id);
        return !!e.data?.invalid === invalid ? e : { ...e, data: { invalid }, className: invalid ? "invalid" : "" };
      }),
    );
  }, [errors]);

  useEffect(() => {
    setNodes((ns) => ns.map((n) => (n.data.entry === (n.id === entry) ? n : { ...n, data: { ...n.data, entry: n.id === entry } })));
  }, [entry, nodes.length]);

  const snapshot = useCallback(() => ({ nodes, edges, entry }), [nodes, edges, entry]);
  const record = useCallback(() => history.push(snapshot()), [history, snapshot]);
  const restore = (s) => {
    if (!s) return;
    setNodes(s.nodes);
    setEdges(s.edges);
    setEntry(s.entry);
  };
  const undo = () => restore(history.undo(snapshot()));
  const redo = () => restore(history.redo(snapshot()));

  const addNode = (kind, position) => {
    record();
    const pos = position || flowApi.screenToFlowPosition({ x: window.innerWidth / 2, y: window.innerHeight / 2 });
    const node = makeNode(kind, pos, nodes);
    setNodes((ns) => [...ns.map((n) => ({ ...n, selected: false })), { ...node, selected: true }]);
    if (!nodes.length) setEntry(node.id);
    setTab("node");
  };

  const onDrop = (e) => {
    e.preventDefault();
    const kind = e.dataTransfer.getData(DRAG_TYPE);
    if (!KINDS[kind]) return;
    addNode(kind, flowApi.screenToFlowPosition({ x: e.clientX - 100, y: e.clientY - 20 }));
  };

  const onConnect = (c) => {
    record();
    // One output leads to one place: a new connection from a handle replaces the old one.
    setEdges((es) =>
      addEdge({ ...c, id: edgeId(c.source, c.sourceHandle) }, es.filter((e) => !(e.source === c.source && e.sourceHandle === c.sourceHandle))),
    );
  };

  const selected = nodes.find((n) => n.selected) || null;
  const patchSelected = (patch) => {
    record();
    setNodes((ns) => ns.map((n) => (n.id === selected.id ? { ...n, data: { ...n.data, ...patch } } : n)));
  };
  const removeItem = (field, prefix, index) => {
    record();
    const id = selected.id;
    setNodes((ns) =>
      ns.map((n) => (n.id === id ? { ...n, data: { ...n.data, fields: { ...n.data.fields, [field]: n.data.fields[field].filter((_, j) => j !== index) } } } : n)),
    );
    // Outputs after the removed item move up by one; keep their connections.
    setEdges((es) =>
      es.flatMap((e) => {
        if (e.source !== id || !e.sourceHandle.startsWith(`${prefix}:`)) return [e];
        const j = +e.sourceHandle.split(":")[1];
        if (j === index) return [];
        if (j < index) return [e];
        const handle = `${prefix}:${j - 1}`;
        return [{ ...e, sourceHandle: handle, id: edgeId(id, handle) }];
      }),
    );
  };
  const deleteSelected = () => {
    if (!selected) return;
    record();
    setNodes((ns) => ns.filter((n) => n.id !== selected.id));
    setEdges((es) => es.filter((e) => e.source !== selected.id && e.target !== selected.id));
    if (entry === selected.id) setEntry(null);
  };

  const layout = () => {
    record();
    setNodes((ns) => autoLayout(ns, edges));
    requestAnimationFrame(() => flowApi.fitView({ padding: 0.2, maxZoom: 1 }));
  };

  // Leaving a flow with unsaved edits asks first: they would be lost.
  const leave = () => !dirty || window.confirm("This flow has unsaved changes. Leave it and lose them?");
  const switchFlow = (id) => {
    if (leave()) setFlowId(id);
  };
  const newFlow = async () => {
    if (!leave()) return;
    const name = window.prompt("Name of the new flow", "");
    if (!name) return;
    const res = await request("POST", cfg.urls.flows, { name });
    if (!res.ok) {
      setSaveError(errorMessage(res, "Could not create the flow."));
      return;
    }
    setFlows((fs) => [...fs, res.data]);
    setFlowId(res.data.id);
  };

  const save = async (force = false) => {
    setStatus("Saving…");
    let rev = revision;
    if (force) {
      const latest = await request("GET", url(cfg.urls.flow, { flow: flowId }));
      if (latest.ok) rev = latest.data.revision;
    }
    const res = await request("PUT", url(cfg.urls.flow, { flow: flowId }), { graph, revision: rev });
    if (res.status === 409) {
      setConflict(errorMessage(res, "Someone else saved this flow after you opened it."));
      setStatus("Not saved");
      return;
    }
    if (!res.ok) {
      // The problems themselves are on the nodes (live validation); say why nothing was saved.
      setStatus("");
      setSaveError(`Not saved: ${errorMessage(res, `the server answered ${res.status}`)} Fix the marked steps.`);
      return;
    }
    setSaveError("");
    setRevision(res.data.revision);
    setFlows((fs) => fs.map((f) => (f.id === flowId ? { ...f, graph: res.data.graph } : f)));
    setSaved(graphKey);
    setConflict(null);
    setStatus("Saved");
  };

  // Keyboard shortcuts, ignored while typing in a form field.
  useEffect(() => {
    const onKey = (e) => {
      const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(e.target.tagName);
      const mod = e.ctrlKey || e.metaKey;
      if (mod && e.key.toLowerCase() === "s") {
        e.preventDefault();
        save();
      } else if (typing) {
        return;
      } else if (mod && e.key.toLowerCase() === "z") {
        e.preventDefault();
        e.shiftKey ? redo() : undo();
      } else if (mod && e.key.toLowerCase() === "y") {
        e.preventDefault();
        redo();
      } else if (e.shiftKey && e.key === "L") {
        layout();
      } else if (e.shiftKey && e.key === "F") {
        flowApi.fitView({ padding: 0.2 });
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  });

  const ctx = {
    bot: cfg.bot,
    slots: useMemo(() => slotsOf([{ nodes }, ...flows.filter((f) => f.id !== flowId).map((f) => f.graph)]), [nodes, flows, flowId]),
    flowNames: flows.filter((f) => f.id !== flowId).map((f) => f.name),
  };
  const looseErrors = errors.filter((e) => !e.node);

  return (
    <div className="sb-app">
      <header className="sb-bar">
        <a className="sb-back" href={cfg.urls.back}>
          ← {cfg.bot.name}
        </a>
        <select aria-label="Flow" value={flowId ?? ""} onChange={(e) => switchFlow(+e.target.value)}>
          {flows.map((f) => (
            <option key={f.id} value={f.id}>
              {f.name}
              {f.is_entry ? " (start of conversations)" : ""}
            </option>
          ))}
        </select>
        <button type="button" onClick={newFlow}>
          New flow
        </button>
        <button type="button" onClick={undo} disabled={!history.canUndo} title="Undo (Ctrl+Z)">
          Undo
        </button>
        <button type="button" onClick={redo} disabled={!history.canRedo} title="Redo (Ctrl+Shift+Z)">
          Redo
        </button>
        <button type="button" onClick={layout} title="Tidy up (Shift+L)">
          Tidy up
        </button>
        <button type="button" onClick={() => flowApi.fitView({ padding: 0.2 })} title="Zoom to fit (Shift+F)">
          Fit
        </button>
        <span className="sb-spacer" />
        <span className={`sb-validity ${errors.length ? "bad" : "good"}`} data-testid="validity">
          {errors.length ? `${errors.length} problem${errors.length > 1 ? "s" : ""}` : "No problems"}
        </span>
        <span className="sb-status" data-testid="save-status">
          {dirty ? "Unsaved changes" : status}
        </span>
        {saveError && (
          <span className="sb-save-error" role="alert" data-testid="save-error">
            {saveError}
          </span>
        )}
        <button type="button" className="primary" onClick={() => save()} title="Save (Ctrl+S)">
          Save
        </button>
      </header>
      {conflict && (
        <div className="sb-conflict" role="alert" data-testid="conflict">
          {conflict} Your changes are not saved.
          <button type="button" onClick={reload}>
            Load their version
          </button>
          <button type="button" onClick={() => save(true)}>
            Replace it with mine
          </button>
        </div>
      )}
      <div className="sb-main">
        <Palette onAdd={(k) => addNode(k)} />
        <div className="sb-canvas" onDragOver={(e) => (e.preventDefault(), (e.dataTransfer.dropEffect = "move"))} onDrop={onDrop}>
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={nodeTypes}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            onNodeDragStart={record}
            onBeforeDelete={async () => (record(), true)}
            onNodesDelete={(ds) => ds.some((d) => d.id === entry) && setEntry(null)}
            deleteKeyCode={["Delete", "Backspace"]}
            onlyRenderVisibleElements
            minZoom={0.1}
            defaultEdgeOptions={{ type: "smoothstep" }}
            proOptions={{ hideAttribution: true }}
          >
            <Background gap={20} />
            <MiniMap pannable zoomable nodeColor={(n) => KINDS[n.data.kind].color} />
            <Controls showInteractive={false} />
          </ReactFlow>
          {!nodes.length && (
            <div className="sb-empty">{loaded ? "Drag a node from the left to start this flow." : "Loading…"}</div>
          )}
          {looseErrors.length > 0 && (
            <ul className="sb-loose-errors" role="alert">
              {looseErrors.map((e, i) => (
                <li key={i}>{e.message}</li>
              ))}
            </ul>
          )}
        </div>
        <div className="sb-side">
          <nav className="sb-tabs">
            {[
              ["node", "Node"],
              ["console", "Test console"],
              ["tests", "Test cases"],
            ].map(([k, t]) => (
              <button key={k} type="button" className={tab === k ? "active" : ""} onClick={() => setTab(k)}>
                {t}
              </button>
            ))}
          </nav>
          <div style={{ display: tab === "node" ? "block" : "none" }}>
            <Inspector
              node={selected}
              ctx={ctx}
              onFields={(fields) => patchSelected({ fields })}
              onLabel={(label) => patchSelected({ label })}
              onEntry={() => (record(), setEntry(selected.id))}
              onDelete={deleteSelected}
              removeItem={removeItem}
            />
          </div>
          <div style={{ display: tab === "console" ? "flex" : "none" }} className="sb-side-fill">
            <Console cfg={cfg} versions={versions} />
          </div>
          <div style={{ display: tab === "tests" ? "block" : "none" }}>
            <TestCases
              cfg={cfg}
              active={tab === "tests"}
              onPublished={(v) => setVersions((vs) => [v, ...vs.filter((x) => x.id !== v.id)])}
            />
          </div>
        </div>
      </div>
    </div>
  );
}

export default function App({ cfg }) {
  return (
    <ReactFlowProvider>
      <Builder cfg={cfg} />
    </ReactFlowProvider>
  );
}
