import type { GraphResponse, StatusText } from "../protocol/index.ts";
import { STATUS_COLORS } from "./color.ts";

/**
 * Graphviz DOT, left to right, arrows from each dependency to the unit that waits for it.
 * Nodes are known by the units' names; a name nobody registered is drawn dashed, and an
 * edge that asks for more or less than success is labelled with its requirement.
 */
export function toDot(graph: GraphResponse): string {
  const ids = dotIds(graph.units.map((unit) => unit.unit_name));
  const lines = [
    "digraph unitsync {",
    '  graph [rankdir=LR, fontname="Helvetica", nodesep=0.3, ranksep=0.6];',
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, penwidth=1.4];',
    '  edge [fontname="Helvetica", fontsize=9, color="#555555", arrowsize=0.7];',
  ];
  for (const unit of graph.units) {
    const { light: fill, solid: stroke } = STATUS_COLORS[unit.status];
    const style = unit.status === "not registered" ? ', style="rounded,dashed", fontcolor="#666666"' : "";
    // A target is drawn as a folder of its members; a first unit with a double border.
    const shape = unit.target ? ", shape=folder" : unit.first ? ", peripheries=2" : "";
    const label = `${dotText(unit.unit_name)}\\n${kindOf(unit)}${unit.status}`;
    lines.push(`  ${ids.get(unit.unit_name)} [label="${label}", fillcolor="${fill}", color="${stroke}"${style}${shape}];`);
  }
  for (const edge of graph.edges) {
    const attributes = edge.implicit
      ? ` [label="${edge.implicit}", style=dotted]`
      : edge.requires === "success"
        ? ""
        : ` [label="${edge.requires}", style=dashed]`;
    lines.push(`  ${ids.get(edge.depends_on)} -> ${ids.get(edge.unit_name)}${attributes};`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/**
 * Quoted DOT ids. Inside quotes DOT reads only `\"` as an escape and keeps every other
 * backslash, so a name is its own id with its quotes escaped; only a name ending in a
 * backslash cannot be spelled (it would escape the closing quote) and gets a made-up id.
 */
function dotIds(names: readonly string[]): Map<string, string> {
  const ids = new Map<string, string>();
  const taken = new Set(names);
  let made = 0;
  for (const name of names) {
    if (!name.endsWith("\\")) {
      ids.set(name, `"${name.replace(/"/g, '\\"')}"`);
      continue;
    }
    let id: string;
    do id = `unit-${++made}`;
    while (taken.has(id));
    ids.set(name, `"${id}"`);
  }
  return ids;
}

/** Text for a DOT label, where a backslash starts an escape such as `\n` and `&` an HTML entity. */
function dotText(name: string): string {
  return name.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/&/g, "&amp;");
}

/**
 * A Mermaid flowchart with the same picture. Mermaid node ids must be plain words, so each
 * is the unit name with other characters turned into `_` (numbered when two collide); the
 * label shows the real name.
 */
export function toMermaid(graph: GraphResponse): string {
  const ids = mermaidIds(graph.units.map((unit) => unit.unit_name));
  const lines = ["flowchart LR"];
  for (const unit of graph.units) {
    lines.push(`  ${ids.get(unit.unit_name)}["${mermaidText(unit.unit_name)}<br/>${kindOf(unit)}${unit.status}"]:::${classOf(unit.status)}`);
  }
  for (const edge of graph.edges) {
    const arrow = edge.implicit ? `-. ${edge.implicit} .->` : edge.requires === "success" ? "-->" : `-. ${edge.requires} .->`;
    lines.push(`  ${ids.get(edge.depends_on)} ${arrow} ${ids.get(edge.unit_name)}`);
  }
  for (const [status, { light: fill, solid: stroke }] of Object.entries(STATUS_COLORS)) {
    const dashed = status === "not registered" ? ",stroke-dasharray:5 3,color:#666666" : "";
    lines.push(`  classDef ${classOf(status as StatusText)} fill:${fill},stroke:${stroke}${dashed}`);
  }
  return `${lines.join("\n")}\n`;
}

/** `target ` or `first ` before a unit's status in its label; nothing for an ordinary unit. */
function kindOf(unit: GraphResponse["units"][number]): string {
  return unit.target ? "target " : unit.first ? "first " : "";
}

function classOf(status: StatusText): string {
  return status === "not registered" ? "not_registered" : status;
}

function mermaidIds(names: readonly string[]): Map<string, string> {
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  for (const name of names) {
    const base = `u_${name.replace(/[^A-Za-z0-9_]/g, "_")}`;
    let id = base;
    for (let n = 2; taken.has(id); n++) id = `${base}_${n}`;
    taken.add(id);
    ids.set(name, id);
  }
  return ids;
}

/** Label text inside `["..."]`: Mermaid reads `#code;` entities, so every character that could end or mark up the label becomes one. */
function mermaidText(name: string): string {
  return name.replace(/[#"<>&`]/g, (c) => `#${c.charCodeAt(0)};`);
}
