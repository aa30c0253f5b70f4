/**
 * Section 4, server memory: the resident memory of `unitsync serve` as its graph grows to
 * 10, 1,000 and 10,000 units (about two edges each), then with 1,000 clients blocked in
 * `start` on top, against the same server idle just after its start.
 */
import { join } from "node:path";
import { holdStart, type RawConnection } from "../test/raw-http.ts";
import {
  apiOk,
  clientEnv,
  inBatches,
  markdownTable,
  mib,
  processMemory,
  progress,
  serve,
  stopServer,
  summarize,
  times,
  type SectionReport,
  type Suite,
} from "./lib.ts";

const TRIALS = 3;
const WAITERS = 1_000;
/** Connections opened at once: well under the server's listen backlog of 512. */
const CONNECT_BATCH = 100;
/** Requests in flight while registering units, as 8 scripts would be. */
const CONCURRENCY = 8;
const TARGET_BYTES = 64 * 2 ** 20;

type Stage =
  | "idle"
  | "10 units"
  | "1,000 units"
  | "10,000 units"
  | "10,000 units + 1,000 waiting starts"
  | "the same, 2 s after the last request"
  | "1,000 waiting starts alone (second server)";
const GROWTH: { stage: Stage; units: number }[] = [
  { stage: "10 units", units: 10 },
  { stage: "1,000 units", units: 1_000 },
  { stage: "10,000 units", units: 10_000 },
];
const WAITING: Stage = "10,000 units + 1,000 waiting starts";
const WAITING_ALONE: Stage = "1,000 waiting starts alone (second server)";
const SETTLED: Stage = "the same, 2 s after the last request";
/**
 * A workspace's server spends its life between bursts of requests: 2 s of quiet is past the
 * server's own idle collection (500 ms after the last request) and the allocator's return of
 * the freed pages, which the reading at the burst's end still counts.
 */
const SETTLE_MS = 2_000;

/** One reading of the server's memory, in bytes (see `processMemory`). */
export interface MemoryReading {
  stage: Stage;
  rss: number;
  hwm: number;
  anon: number;
  file: number;
}

/**
 * Each trial on two fresh servers, read right after the last answer of each stage (and the
 * full case once more after 2 s of quiet): one grows to 10,000 units and then holds 1,000
 * waiting starts (the target's case), the other
 * holds the 1,000 waiting starts alone, so what a waiter costs is not lost in what the
 * 10,000 units left behind.
 */
export async function measureServerMemory(suite: Suite): Promise<MemoryReading[][]> {
  const trials: MemoryReading[][] = [];
  for (let trial = 0; trial < TRIALS; trial++) {
    progress(`server memory trial ${trial + 1}/${TRIALS}`);
    trials.push([...(await onFreshServer(suite, `memory-${trial}`, growThenWait)), ...(await onFreshServer(suite, `waiters-${trial}`, waitAlone))]);
  }
  return trials;
}

type Reader = (stage: Stage) => void;

async function onFreshServer(
  { binary, dir }: Suite,
  name: string,
  work: (socketPath: string, read: Reader, connections: RawConnection[]) => Promise<void>,
): Promise<MemoryReading[]> {
  const socketPath = join(dir, `${name}.sock`);
  const server = await serve(binary, socketPath, clientEnv(socketPath));
  const readings: MemoryReading[] = [];
  const connections: RawConnection[] = [];
  try {
    await work(socketPath, (stage) => readings.push({ stage, ...processMemory(server.proc.pid) }), connections);
    return readings;
  } finally {
    for (const connection of connections) connection.close();
    await stopServer(server);
  }
}

/**
 * Unit k (1..N) wants u(k-1) and u((k-1)/2): two edges each, always to an earlier unit so
 * the graph stays acyclic whatever order the requests arrive in; u0 is started first.
 */
async function growThenWait(socketPath: string, read: Reader, connections: RawConnection[]): Promise<void> {
  // One request first, so the idle figure includes what answering costs at all.
  await apiOk(socketPath, "GET", "/ping");
  read("idle");
  await apiOk(socketPath, "POST", "/units/svc-0/start", {});
  let registered = 0;
  for (const { stage, units } of GROWTH) {
    const ks = Array.from({ length: units - registered }, (_, i) => registered + i + 1);
    await inBatches(ks, CONCURRENCY, async (k) => {
      await apiOk(socketPath, "POST", `/units/svc-${k}/dependencies`, { depends_on: [`svc-${k - 1}`, `svc-${Math.floor((k - 1) / 2)}`] });
    });
    registered = units;
    read(stage);
  }
  connections.push(...(await holdWaiters(socketPath)));
  read(WAITING);
  await Bun.sleep(SETTLE_MS);
  read(SETTLED);
}

async function waitAlone(socketPath: string, read: Reader, connections: RawConnection[]): Promise<void> {
  await apiOk(socketPath, "GET", "/ping");
  connections.push(...(await holdWaiters(socketPath)));
  read(WAITING_ALONE);
}

/** 1,000 starts held open, each on a unit of its own that wants a started `gate`: one unsatisfied, registered dependency. */
async function holdWaiters(socketPath: string): Promise<RawConnection[]> {
  await apiOk(socketPath, "POST", "/units/gate/start", {});
  const units = Array.from({ length: WAITERS }, (_, i) => `waiter-${i}`);
  await inBatches(units, CONCURRENCY, async (unit) => {
    await apiOk(socketPath, "POST", `/units/${unit}/dependencies`, { depends_on: ["gate"] });
  });
  const connections: RawConnection[] = [];
  for (let i = 0; i < WAITERS; i += CONNECT_BATCH) {
    connections.push(...(await Promise.all(units.slice(i, i + CONNECT_BATCH).map((unit) => holdStart(socketPath, unit, { timeout_ms: 120_000 })))));
  }
  const notWaiting = connections.find((c) => (c.lines[0] as { type?: string } | undefined)?.type !== "waiting");
  if (notWaiting) throw new Error(`a start did not wait: ${notWaiting.raw}`);
  return connections;
}

export function reportServerMemory(trials: MemoryReading[][], doNothingRss: number | undefined): SectionReport {
  const stages = trials[0]!.map((r) => r.stage);
  const figure = (stage: Stage, pick: (r: MemoryReading) => number) => summarize(trials.map((t) => pick(t.find((r) => r.stage === stage)!)));
  const rss = (stage: Stage) => figure(stage, (r) => r.rss);
  const anon = (stage: Stage) => figure(stage, (r) => r.anon);
  const idle = rss("idle");
  const markdown = [
    `## 4. Server memory: \`unitsync serve\` resident memory (VmRSS, VmHWM), fresh server per trial`,
    ``,
    markdownTable(
      ["graph", "trials", "RSS median", "RSS p99", "RSS vs idle server", "over idle server", "peak (VmHWM) p99", "anonymous (median)", "file-backed (median)"],
      stages.map((stage) => {
        const s = rss(stage);
        return [
          stage,
          String(s.n),
          mib(s.median),
          mib(s.p99),
          times(s.median / idle.median),
          mib(s.median - idle.median),
          mib(figure(stage, (r) => r.hwm).p99),
          mib(anon(stage).median),
          mib(figure(stage, (r) => r.file).median),
        ];
      }),
    ),
    ``,
    `Anonymous memory is the server's own (heap, stacks); file-backed pages are mostly the executable's code, read from disk` +
      ` and shared by every process running the binary. ` +
      (doNothingRss === undefined ? "" : `For scale: a do-nothing compiled Bun binary peaks at ${mib(doNothingRss)} (section 3). `) +
      `Anonymous memory grows by about ${((anon("10,000 units").median - anon("1,000 units").median) / 9_000 / 1024).toFixed(1)} KiB per unit` +
      ` from 1,000 to 10,000 units, and by about ${((anon(WAITING_ALONE).median - anon("idle").median) / WAITERS / 1024).toFixed(1)} KiB per waiting start` +
      ` (its unit included) on the second server; the garbage collector's timing moves these by several MiB from trial to trial.`,
  ].join("\n");
  const full = rss(WAITING);
  const settled = rss(SETTLED);
  const targets = [
    {
      target: "server RSS < 64 MiB with 10,000 units and 1,000 waiting starts (p99)",
      measured: `${mib(full.median)} (p99 ${mib(full.p99)}; anonymous ${mib(anon(WAITING).median)})`,
      pass: full.p99 < TARGET_BYTES,
    },
    {
      target: "the same, 2 s after the last request (p99)",
      measured: `${mib(settled.median)} (p99 ${mib(settled.p99)}; anonymous ${mib(anon(SETTLED).median)})`,
      pass: settled.p99 < TARGET_BYTES,
    },
  ];
  return { markdown, json: { trials }, targets };
}
