/**
 * What targets and `first` cost as the graph grows (issue 17): nothing they do may grow
 * faster than its input. Two layers, each against a baseline measured in the same run:
 *
 * - In process, on the pure graph, chains of 1,000, 10,000, 40,000 and 160,000 units (u0 wants u1 wants ...),
 *   trials interleaved: `first` declared over the whole chain, the first unit completing
 *   (every chained unit rechecked), and `want first uK` taking half the chain into the
 *   set-up phase (its implicit edges dropped), against building the chain itself; a target
 *   of N members declared and completed member by member, against a plain unit that wants
 *   the same N units. The ratios of 40,000 to 10,000 and of 160,000 to 40,000 say how it
 *   scales (4x is linear; a quadratic step would be 16x). Below 10,000 the times are too
 *   short to say much: JIT tiers and collections dominate.
 * - Over HTTP, on a real `unitsync serve` holding a 10,000-unit chain: the `first` request
 *   against `GET /units` (the cheapest request that reads the whole graph), its resident
 *   memory before and after, and the bytes of serve log `first` wrote (one event).
 *
 * Usage: `bun run bench/targets-first.ts [binary]` (default dist/unitsync; build it first).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UnitGraph } from "../src/graph/index.ts";
import {
  apiOk,
  clientEnv,
  inBatches,
  killAll,
  markdownTable,
  median,
  mib,
  ms,
  onAnyExit,
  processMemory,
  progress,
  shuffle,
  spawnToFiles,
  times,
  writeReport,
} from "./lib.ts";

/** Past the 10,000 that matters, 40,000 and 160,000 show the trend (the graph's limits are raised for them). */
const LENGTHS = [1_000, 10_000, 40_000, 160_000] as const;
const LIMITS = { units: 1_000_000, dependencies: 1_000_000 };
const GRAPH_TRIALS = 5;
const SERVER_TRIALS = 3;
const SERVER_LENGTH = 10_000;

type Operation = "build chain" | "first over the chain" | "first unit completes" | "want first uN/2" | "want plain N deps" | "target of N members" | "complete N plain deps" | "complete N members";

/** A chain u0 -> u1 -> ... -> u(n-1): each unit wants the next. */
function chain(graph: UnitGraph, length: number): void {
  for (let i = 0; i < length - 1; i++) graph.declareDependencies(`u${i}`, [`u${i + 1}`]);
  graph.register(`u${length - 1}`);
}

/** `action`'s wall time, after a full collection, so that garbage of earlier steps is not billed to it. */
function timed(action: () => void): number {
  Bun.gc(true);
  const started = performance.now();
  action();
  return performance.now() - started;
}

/** One trial of every in-process operation at `length`; returns ms per operation. */
function graphTrial(length: number, kind: "first" | "target"): Partial<Record<Operation, number>> {
  if (kind === "first") {
    const graph = new UnitGraph({ limits: LIMITS });
    const build = timed(() => chain(graph, length));
    const declare = timed(() => graph.declareFirst("apt-mirror"));
    const release = timed(() => (graph.start("apt-mirror"), graph.complete("apt-mirror")));
    // A fresh first, so that the dropped edges are still there to drop.
    const other = new UnitGraph({ limits: LIMITS });
    chain(other, length);
    other.declareFirst("apt-mirror");
    const exempt = timed(() => other.declareDependencies("apt-mirror", [`u${length / 2}`]));
    return { "build chain": build, "first over the chain": declare, "first unit completes": release, "want first uN/2": exempt };
  }
  const members = Array.from({ length }, (_, i) => `m${i}`);
  const plain = new UnitGraph({ limits: LIMITS });
  const want = timed(() => plain.declareDependencies("plain", members));
  for (const member of members) plain.register(member);
  const completePlain = timed(() => members.forEach((member) => plain.complete(member)));
  const graph = new UnitGraph({ limits: LIMITS });
  const declare = timed(() => graph.declareTarget("module", members));
  for (const member of members) graph.register(member);
  const completeMembers = timed(() => members.forEach((member) => graph.complete(member)));
  if (graph.statusOf("module") !== "completed") throw new Error("the target did not complete");
  return { "want plain N deps": want, "target of N members": declare, "complete N plain deps": completePlain, "complete N members": completeMembers };
}

const dir = mkdtempSync(join(tmpdir(), "unitsync-bench-targets-"));
onAnyExit(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});
const binary = resolve(process.argv[2] ?? join(import.meta.dir, "..", "dist", "unitsync"));

// In process: every (length, kind) trial shuffled together, after one warm-up round.
const samples = new Map<string, number[]>();
for (const length of LENGTHS) for (const kind of ["first", "target"] as const) graphTrial(length, kind);
const plan = shuffle(LENGTHS.flatMap((length) => (["first", "target"] as const).flatMap((kind) => Array.from({ length: GRAPH_TRIALS }, () => ({ length, kind })))));
plan.forEach(({ length, kind }, index) => {
  progress(`graph: trial ${index + 1}/${plan.length}`);
  for (const [operation, value] of Object.entries(graphTrial(length, kind))) {
    const key = `${operation}@${length}`;
    samples.set(key, [...(samples.get(key) ?? []), value]);
  }
});
const medianOf = (operation: Operation, length: number) => median(samples.get(`${operation}@${length}`)!);
const BASELINE: Record<Operation, Operation | undefined> = {
  "build chain": undefined,
  "first over the chain": "build chain",
  "first unit completes": "build chain",
  "want first uN/2": "build chain",
  "want plain N deps": undefined,
  "target of N members": "want plain N deps",
  "complete N plain deps": undefined,
  "complete N members": "complete N plain deps",
};
const graphRows = (Object.keys(BASELINE) as Operation[]).map((operation) => {
  const [small, medium, large, huge] = LENGTHS.map((length) => medianOf(operation, length));
  const baseline = BASELINE[operation];
  const ratio = baseline === undefined ? "(baseline)" : `${times(medium! / medianOf(baseline, 10_000))} of ${baseline}`;
  return [operation, ms(small!), ms(medium!), ms(large!), ms(huge!), times(large! / medium!), times(huge! / large!), ratio];
});

// Over HTTP: a real server per trial holding the chain, then `first`.
interface ServerTrial {
  listMs: number;
  firstMs: number;
  rssBefore: number;
  rssAfter: number;
  logBytes: number;
}
const serverTrials: ServerTrial[] = [];
for (let trial = 0; trial < SERVER_TRIALS; trial++) {
  progress(`server: trial ${trial + 1}/${SERVER_TRIALS}, chain of ${SERVER_LENGTH}`);
  const socketPath = join(dir, `s${trial}.sock`);
  const log = join(dir, `serve-${trial}.log`);
  const server = spawnToFiles([binary, "serve", "--socket-path", socketPath], clientEnv(socketPath), { stderr: log });
  const deadline = performance.now() + 10_000;
  while (!(await fetch("http://unitsync/v1/ping", { unix: socketPath }).then((r) => r.ok, () => false))) {
    if (performance.now() > deadline) throw new Error("the server did not come up");
    await Bun.sleep(5);
  }
  const links = Array.from({ length: SERVER_LENGTH - 1 }, (_, i) => i);
  await inBatches(links, 64, (i) => apiOk(socketPath, "POST", `/units/u${i}/dependencies`, { depends_on: [`u${i + 1}`] }).then(() => {}));
  await apiOk(socketPath, "GET", "/units");
  const timedRequest = async (method: string, path: string) => {
    const started = performance.now();
    await apiOk(socketPath, method, path);
    return performance.now() - started;
  };
  const listMs = await timedRequest("GET", "/units");
  const rssBefore = processMemory(server.pid).rss;
  const firstMs = await timedRequest("POST", "/units/apt-mirror/first");
  await apiOk(socketPath, "GET", "/ping");
  const rssAfter = processMemory(server.pid).rss;
  server.kill("SIGTERM");
  await server.exited;
  // What `first` logged: its one event line (the log is complete once the server is gone).
  const logBytes = (await Bun.file(log).text()).split("\n").filter((line) => line.includes("runs first")).join("\n").length;
  serverTrials.push({ listMs, firstMs, rssBefore, rssAfter, logBytes });
}
const serverMedian = (pick: (t: ServerTrial) => number) => median(serverTrials.map(pick));

const markdown = [
  `## Targets and first: cost as the graph grows`,
  "",
  `In process, the pure graph: median of ${GRAPH_TRIALS} trials per length, shuffled; the ratios of 40,000 to 10,000 and of 160,000 to 40,000 say how it scales (4x is linear, 16x quadratic).`,
  "",
  markdownTable(["operation", "N = 1,000", "N = 10,000", "N = 40,000", "N = 160,000", "40k / 10k", "160k / 40k", "at 10,000, vs baseline"], graphRows),
  "",
  `Over HTTP, a real server holding a chain of ${SERVER_LENGTH.toLocaleString("en-US")} units, median of ${SERVER_TRIALS} fresh servers:`,
  "",
  markdownTable(
    ["figure", "median"],
    [
      ["`POST /v1/units/apt-mirror/first` (holds back the whole chain)", ms(serverMedian((t) => t.firstMs))],
      ["baseline: `GET /v1/units` (reads the whole graph)", ms(serverMedian((t) => t.listMs))],
      ["ratio", times(serverMedian((t) => t.firstMs) / serverMedian((t) => t.listMs))],
      ["server RSS before / after `first`", `${mib(serverMedian((t) => t.rssBefore))} / ${mib(serverMedian((t) => t.rssAfter))}`],
      ["serve log written by `first`", `${serverMedian((t) => t.logBytes)} bytes`],
    ],
  ),
  "",
].join("\n");
await writeReport("targets-first", { markdown, json: { samples: Object.fromEntries(samples), serverTrials } });
