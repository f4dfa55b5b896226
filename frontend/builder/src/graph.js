// Conversion between the stored flow graph (bots.schema.FlowGraph) and React Flow's nodes and
// edges. Connections live in the stored nodes' `next`-like fields; on the canvas they are edges.

import { KINDS } from "./kinds";
import { autoLayout } from "./layout";

const LINK_FIELDS = ["next", "on_failure", "on_error", "fallback", "else"];

function strip(node) {
  const { id, kind, label, position, ...fields } = node;
  for (const f of LINK_FIELDS) delete fields[f];
  if (fields.conditions) fields.conditions = fields.conditions.map((c) => ({ when: c.when, next: "" }));
  if (fields.routes) fields.routes = fields.routes.map((r) => ({ intent: r.intent, next: "" }));
  return fields;
}

function linksOf(node) {
  const links = [];
  for (const f of LINK_FIELDS) if (node[f]) links.push([f, node[f]]);
  (node.conditions || []).forEach((c, i) => c.next && links.push([`cond:${i}`, c.next]));
  (node.routes || []).forEach((r, i) => r.next && links.push([`route:${i}`, r.next]));
  return links;
}

export function edgeId(source, handle) {
  return `${source}:${handle}`;
}

export function fromGraph(graph) {
  const nodes = (graph.nodes || []).map((n, i) => ({
    id: n.id,
    type: "flow",
    // Stored positions leave out zero coordinates; flows written as YAML have none at all.
    position: { x: n.position?.x ?? 0, y: n.position?.y ?? i * 140 },
    data: { kind: n.kind, label: n.label || "", fields: strip(n), entry: graph.entry === n.id, errors: [], badHandles: [] },
  }));
  const ids = new Set(nodes.map((n) => n.id));
  const edges = [];
  for (const n of graph.nodes || []) {
    for (const [handle, target] of linksOf(n)) {
      if (ids.has(target)) edges.push({ id: edgeId(n.id, handle), source: n.id, sourceHandle: handle, target });
    }
  }
  const unplaced = (graph.nodes || []).length > 0 && (graph.nodes || []).every((n) => !n.position);
  return { nodes: unplaced ? autoLayout(nodes, edges) : nodes, edges, entry: graph.entry || null };
}

export function toGraph(nodes, edges, entry) {
  const out = nodes.map((n) => {
    const fields = JSON.parse(JSON.stringify(n.data.fields));
    const node = { id: n.id, kind: n.data.kind };
    if (n.data.label) node.label = n.data.label;
    node.position = { x: Math.round(n.position.x), y: Math.round(n.position.y) };
    Object.assign(node, fields);
    for (const e of edges.filter((e) => e.source === n.id)) {
      const [kind, index] = e.sourceHandle.split(":");
      if (kind === "cond") node.conditions[+index].next = e.target;
      else if (kind === "route") node.routes[+index].next = e.target;
      else node[e.sourceHandle] = e.target;
    }
    return node;
  });
  return { entry: entry && nodes.some((n) => n.id === entry) ? entry : null, nodes: out };
}

export function newNodeId(kind, nodes) {
  const taken = new Set(nodes.map((n) => n.id));
  let i = 1;
  while (taken.has(`${kind}_${i}`)) i += 1;
  return `${kind}_${i}`;
}

export function makeNode(kind, position, nodes) {
  return {
    id: newNodeId(kind, nodes),
    type: "flow",
    position,
    data: { kind, label: "", fields: KINDS[kind].defaults(), entry: false, errors: [], badHandles: [] },
  };
}

// Slots this bot knows about: every slot an ask, set or tool node of any flow fills.
export function slotsOf(graphs) {
  const slots = new Set();
  for (const g of graphs) {
    for (const n of g.nodes || []) {
      const f = n.data ? n.data.fields : n;
      if (f.slot) slots.add(f.slot);
      if (f.result_slot) slots.add(f.result_slot);
      Object.keys(f.values || {}).forEach((s) => slots.add(s));
    }
  }
  return [...slots].sort();
}
