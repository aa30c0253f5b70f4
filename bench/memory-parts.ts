/**
 * What each part of the server costs in live heap, in process: the graph with 10,000 units
 * grown as section 4 grows them, then each part the server hangs on the graph added alone
 * (the event log, the tracer without an exporter, the journal's wrapper), then 1,000 waiting
 * starts (the waiters' own state, with a sink that holds nothing). Every figure is the heap
 * after a full collection, less the heap before the part was made, per unit or per waiter.
 *
 *   bun run bench/memory-parts.ts            # prints a Markdown table
 *   bun run bench/memory-parts.ts --types    # and the object types each part adds
 */
import { heapStats } from "bun:jsc";
import { UnitGraph } from "../src/graph/index.ts";
import { EventLog } from "../src/server/events.ts";
import { OperationLog } from "../src/server/journal.ts";
import { JournaledGraph } from "../src/server/journaled-graph.ts";
import { StartupTracer } from "../src/server/tracer.ts";
import { StartWaiters, type StartSink } from "../src/server/waiters.ts";

const UNITS = 10_000;
const WAITERS = 1_000;
const showTypes = process.argv.includes("--types");

interface Heap {
  bytes: number;
  types: Record<string, number>;
}

function heap(): Heap {
  Bun.gc(true);
  Bun.gc(true);
  const stats = heapStats();
  return { bytes: stats.heapSize, types: { ...stats.objectTypeCounts } };
}

/** Units 1..N, unit k wanting k-1 and (k-1)/2, as section 4 registers them; unit 0 started. */
function grow(graph: UnitGraph, units = UNITS): void {
  graph.requestStart("svc-0");
  graph.start("svc-0");
  for (let k = 1; k <= units; k++) graph.declareDependencies(`svc-${k}`, [`svc-${k - 1}`, `svc-${Math.floor((k - 1) / 2)}`]);
}

/** The heap `make` adds and keeps, and which object types grew most. */
function cost<T>(make: () => T): { bytes: number; types: [string, number][]; kept: T } {
  const before = heap();
  const kept = make();
  const after = heap();
  const types = Object.entries(after.types)
    .map(([type, count]) => [type, count - (before.types[type] ?? 0)] as [string, number])
    .filter(([, delta]) => delta >= 100)
    .sort((a, b) => b[1] - a[1]);
  return { bytes: after.bytes - before.bytes, types, kept };
}

const clock = () => performance.timeOrigin + performance.now();
const rows: string[][] = [];
const row = (part: string, bytes: number, per: number, unit: string, note = "") =>
  rows.push([part, `${(bytes / 2 ** 20).toFixed(2)} MiB`, `${Math.round(bytes / per)} B per ${unit}`, note]);
const types = (label: string, list: [string, number][]) => showTypes && console.error(`${label}: ${list.map(([t, n]) => `${t} ${n}`).join(", ")}`);

// Each part on a graph of its own, so that what one keeps does not count for the next. The
// first graph made also pays for what the first use of the code allocates once: not counted.
cost(() => grow(new UnitGraph({ clock })));
const graph = cost(() => {
  const g = new UnitGraph({ clock });
  grow(g);
  return g;
});
row("graph: 10,000 units, 2 edges each (10,001 nodes)", graph.bytes, UNITS, "unit");
types("graph", graph.types);

const chain = cost(() => {
  const g = new UnitGraph({ clock });
  for (let k = 1; k <= UNITS; k++) g.declareDependencies(`c-${k}`, [`c-${k - 1}`]);
  return g;
});
row("graph: a chain of 10,000 units (10,001 nodes)", chain.bytes, UNITS, "unit");
chain.kept; // kept alive until here

const bare = cost(() => {
  const g = new UnitGraph({ clock });
  for (let k = 1; k <= UNITS; k++) g.register(`b-${k}`);
  return g;
});
row("graph: 10,000 units, no edges", bare.bytes, UNITS, "unit");
bare.kept;

let withLog: EventLog | undefined;
const events = cost(() => {
  const g = new UnitGraph({ clock });
  withLog = new EventLog(g);
  grow(g);
  return g;
});
const logBytes = events.bytes - graph.bytes;
row(`event log (${withLog!.lastSeq.toLocaleString("en")} events, ${(withLog!.lastSeq - withLog!.firstSeq + 1).toLocaleString("en")} kept)`, logBytes, withLog!.lastSeq - withLog!.firstSeq + 1, "kept event", "on top of the graph");
types("graph + event log", events.types);
events.kept;

const tracer = cost(() => {
  const g = new UnitGraph({ clock });
  const t = new StartupTracer(g, clock);
  grow(g);
  return { g, t };
});
row("tracer without an exporter", tracer.bytes - graph.bytes, UNITS, "unit", "on top of the graph");
tracer.kept;

const traced = cost(() => {
  const g = new UnitGraph({ clock });
  const t = new StartupTracer(g, clock);
  grow(g);
  // What `start` answers: the unit's traceparent, for every started unit.
  g.complete("svc-0");
  for (let k = 1; k <= UNITS; k++) {
    g.start(`svc-${k}`);
    t.traceparentOf(`svc-${k}`);
    g.complete(`svc-${k}`);
  }
  return { g, t };
});
const startedGraph = cost(() => {
  const g = new UnitGraph({ clock });
  grow(g);
  g.complete("svc-0");
  for (let k = 1; k <= UNITS; k++) {
    g.start(`svc-${k}`);
    g.complete(`svc-${k}`);
  }
  return g;
});
row("tracer: a traceparent handed to 10,000 started units", traced.bytes - startedGraph.bytes, UNITS, "unit", "on top of the graph, every unit run");
traced.kept;
startedGraph.kept;

const journaled = cost(() => {
  const operations = new OperationLog(clock, () => {});
  const g = new JournaledGraph({}, operations);
  grow(g);
  return g;
});
row("journal wrapper (records written, not kept)", journaled.bytes - graph.bytes, UNITS, "unit", "on top of the graph");
journaled.kept;

const sink = (): StartSink => ({ write() {}, end() {}, gone: false });
const waiting = cost(() => {
  const g = new UnitGraph({ clock });
  g.requestStart("gate");
  g.start("gate");
  for (let i = 0; i < WAITERS; i++) g.declareDependencies(`waiter-${i}`, ["gate"]);
  return g;
});
const waiters = cost(() => {
  const g = new UnitGraph({ clock });
  const w = new StartWaiters(g);
  g.requestStart("gate");
  g.start("gate");
  for (let i = 0; i < WAITERS; i++) g.declareDependencies(`waiter-${i}`, ["gate"]);
  const detach = Array.from({ length: WAITERS }, (_, i) => w.begin(`waiter-${i}`, sink(), { timeoutMs: 120_000 }));
  return { g, w, detach };
});
row("waiting starts: the waiters' own state (timers, lines sent)", waiters.bytes - waiting.bytes, WAITERS, "waiter", "HTTP's share is in section 4");
types("waiters", waiters.types);
for (const detach of waiters.kept.detach) detach();
waiting.kept;

console.log(
  [
    `| part | live heap | per item | |`,
    `|---|---|---|---|`,
    ...rows.map((cells) => `| ${cells.join(" | ")} |`),
    ``,
    `Bun ${Bun.version}; heap after two full collections (\`bun:jsc\` heapStats), less the heap before the part was made.`,
  ].join("\n"),
);
graph.kept;
process.exit(0);
