/**
 * The soak of issue 7, written once for `bench/soak.ts` (30-s rounds) and
 * `test/e2e/soak.test.ts` (short rounds): a real `unitsync serve` process holds
 * `waiters` starts blocked on gates while `clients` loops issue want/start/complete/fail
 * as fast as they can; the gates open during the load. Then every waiter's lines, the
 * whole unit list and the server's resident memory are checked, round after round.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnitsyncClient, type StartedLine } from "../src/client/client.ts";
import { UnitsyncError, type StartLine, type UnitListEntry } from "../src/protocol/index.ts";
import { holdStart, type RawConnection } from "../test/raw-http.ts";
import { percentile, processCpuMs, processMemory } from "./lib.ts";

export interface SoakOptions {
  /** The `unitsync` binary to serve with. */
  binary: string;
  rounds: number;
  /** How long the clients' load runs in each round. */
  seconds: number;
  /** Starts held open through each round's load, each on its own connection. */
  waiters: number;
  /** Concurrent load loops, each a `UnitsyncClient` (fetch, keep-alive). */
  clients: number;
  /** Units the waiters wait for in each round (waiter i on gate i % gates), opened during the load. */
  gates: number;
  /** Every `failEvery`-th gate fails instead of completing (0: none), so its waiters get `dependency_failed`. */
  failEvery: number;
  /** Cycles on fresh units per client per round, spread over the round; each adds two units for good. */
  freshCycles: number;
  /** Pairs of units per client that the other cycles reuse, so the graph stays bounded. */
  poolPairs: number;
  /** Waiters opened at once: the server's listen backlog is 512. */
  holdBatch: number;
  /** How long resident memory is sampled once a round's connections are closed. */
  settleMs: number;
  onProgress?: (message: string) => void;
}

export const SOAK_DEFAULTS: Omit<SoakOptions, "binary"> = {
  rounds: 3,
  seconds: 30,
  waiters: 1_000,
  clients: 8,
  gates: 20,
  failEvery: 4,
  freshCycles: 100,
  poolPairs: 4,
  holdBatch: 100,
  settleMs: 3_000,
};

/** The server's cap on unit names (issue 7's limits); the soak stays well below it. */
export const UNIT_CAP = 50_000;

/**
 * The memory rule. A unit is never removed, so the graph grows by the units each round
 * adds (1 to 3 KiB of resident memory each, measured); allow 4 KiB per unit on top of a
 * fixed tolerance for the allocator and the garbage collector. What a request, connection
 * or waiter leaks grows with the tens of thousands of each that a round makes instead.
 */
export const MEMORY_TOLERANCE_BYTES = 16 * 2 ** 20;
export const MEMORY_BYTES_PER_UNIT = 4 * 2 ** 10;

export const GATE_REASON = "soak: gate failed on purpose";
export const RETRY_REASON = "soak: retry";

export type OpKind = "want" | "start" | "complete" | "fail";

export interface RoundReport {
  round: number;
  /** Wall time of the load, from the clients' first request to the last one's answer. */
  loadMs: number;
  /** Requests the load clients made during the load, gate releases included. */
  ops: Record<OpKind, number> & { total: number };
  /** Every unexpected answer, error or line (the first 20 in full; `errorCount` counts them all). */
  errors: string[];
  errorCount: number;
  freshCycles: number;
  reuseCycles: number;
  waiters: {
    expected: number;
    started: number;
    dependencyFailed: number;
    /** Waiters whose answer never ended: lost wake-ups. */
    open: number;
    /** Gates opened while the load ran (the rest right after it). */
    gatesDuringLoad: number;
    /** From sending a gate's complete or fail to the arrival of each of its waiters' last line. */
    latencyMs: { median: number; p99: number; max: number };
  };
  /** Starts the load clients made that had to wait, and those woken with the right outcome. */
  loadWakeUps: { expected: number; received: number };
  graph: { units: number; expectedUnits: number; mismatches: string[] };
  /** CPU time the server used during the load, ms (user + system), and this process's own. */
  cpuMs: { server: number; soak: number };
  /** Resident memory of the server, bytes: at the round's start, highest during the load, as the load ended, settled after. */
  rss: { before: number; peak: number; end: number; after: number };
}

export interface SoakReport {
  options: Omit<SoakOptions, "binary" | "onProgress">;
  rounds: RoundReport[];
  /** Server log lines that are not `info` lines (warnings, stack traces), the first 20. */
  serverWarnings: string[];
  serverLogLines: number;
  /** Settled memory of each round against the first round's, and the allowance for the units added since. */
  memory: { growth: number[]; allowance: number[]; flat: boolean };
}

/** A load client's start waits at most this long: a lost wake-up shows up as a `timeout` error, not a hang. */
const LOAD_START_TIMEOUT_MS = 10_000;
/** For starts that must not wait at all. */
const NOW = { timeoutMs: LOAD_START_TIMEOUT_MS, progressMs: 0 };
const KEEP_ERRORS = 20;

interface Expectation {
  status: UnitListEntry["status"];
  reason?: string;
}

/** What the unit list must say, from what the clients did; units a failed cycle left behind are uncertain. */
interface ExpectedGraph {
  units: Map<string, Expectation>;
  uncertain: Set<string>;
}

interface Gate {
  name: string;
  fails: boolean;
  dueMs: number;
  sentAt?: number;
  duringLoad?: boolean;
}

interface Waiter {
  unit: string;
  gate: Gate;
  connection: RawConnection;
  done: Promise<boolean>;
  arrivedAt?: number;
}

/** Every soak server still running, so a bench interrupted by Ctrl-C can kill them. */
const liveServers = new Set<Bun.Subprocess>();

/** Kills every soak server still running (for exit handlers). */
export function killSoakServers(): void {
  for (const server of liveServers) server.kill("SIGKILL");
}

/** How many units a soak with `options` registers in all; it must stay under the server's cap. */
export function plannedUnits(options: Omit<SoakOptions, "binary">): number {
  const perRound = options.waiters + options.gates + options.clients * options.freshCycles * 2;
  return options.rounds * perRound + options.clients * options.poolPairs * 2;
}

/** Runs the whole soak against a fresh `unitsync serve`, which it stops at the end. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  if (options.gates < 1 || options.clients < 1 || options.poolPairs < 1) {
    throw new Error("the soak needs at least one gate, one client and one pair");
  }
  const planned = plannedUnits(options);
  if (planned >= UNIT_CAP) throw new Error(`the soak would register ${planned} units; the server holds at most ${UNIT_CAP}`);
  const dir = mkdtempSync(join(tmpdir(), "unitsync-soak-"));
  const server = await SoakServer.start(options.binary, join(dir, "unitsync.sock"));
  try {
    const graph: ExpectedGraph = { units: new Map(), uncertain: new Set() };
    const rounds: RoundReport[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      rounds.push(await runRound(server, options, round, graph));
      if (!server.running) throw new Error(`unitsync serve exited during round ${round}: ${server.warnings.join("\n")}`);
    }
    const { onProgress: _, binary: __, ...shown } = options;
    return {
      options: shown,
      rounds,
      serverWarnings: server.warnings,
      serverLogLines: server.logLines,
      memory: memoryVerdict(rounds),
    };
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Round 1 grows the server to its working size; every later round's settled memory must
 * stay within the tolerance plus the allowance for the units added since round 1.
 */
function memoryVerdict(rounds: RoundReport[]): SoakReport["memory"] {
  const [first] = rounds;
  const growth = rounds.map((r) => r.rss.after - first!.rss.after);
  const allowance = rounds.map((r) => MEMORY_TOLERANCE_BYTES + (r.graph.units - first!.graph.units) * MEMORY_BYTES_PER_UNIT);
  return { growth, allowance, flat: growth.every((g, i) => g <= allowance[i]!) };
}

async function runRound(
  server: SoakServer,
  options: SoakOptions,
  round: number,
  graph: ExpectedGraph,
): Promise<RoundReport> {
  const say = (message: string) => options.onProgress?.(`round ${round}/${options.rounds}: ${message}`);
  const admin = new UnitsyncClient(server.socketPath);
  const before = server.rss();
  const prefix = roundPrefix(round);
  const durationMs = options.seconds * 1000;
  const errors = new ErrorLog();

  // The gates are running units; each opens (completes or fails) at its due time, spread
  // over the first 80% of the load so that the last ones too wake their waiters under load.
  const gates: Gate[] = Array.from({ length: options.gates }, (_, k) => ({
    name: `${prefix}-g${k}`,
    fails: options.failEvery > 0 && (k + 1) % options.failEvery === 0,
    dueMs: ((k + 1) / options.gates) * 0.8 * durationMs,
  }));
  for (const gate of gates) {
    await errors.check(`start ${gate.name}`, async () => same(await admin.start(gate.name, NOW), started([], [])));
  }

  say(`holding ${options.waiters} starts`);
  const waiterUnits = Array.from({ length: options.waiters }, (_, i) => ({
    unit: `${prefix}-w${i}`,
    gate: gates[i % gates.length]!,
  }));
  for (let i = 0; i < waiterUnits.length; i += 50) {
    await Promise.all(
      waiterUnits.slice(i, i + 50).map(({ unit, gate }) =>
        errors.check(`want ${unit}`, async () =>
          same(await admin.want(unit, [gate.name]), { unit_name: unit, dependencies: [gate.name] }),
        ),
      ),
    );
  }
  const waiters: Waiter[] = [];
  // A lost wake-up must fail the round, not hang it: a waiter gives up about 10 s after the load.
  const waitMs = durationMs + 10_000;
  for (let i = 0; i < waiterUnits.length; i += options.holdBatch) {
    const batch = waiterUnits.slice(i, i + options.holdBatch);
    const held = await Promise.all(
      batch.map(({ unit }) => holdStart(server.socketPath, unit, { timeout_ms: 300_000, progress_ms: 1_000 })),
    );
    held.forEach((connection, j) => {
      const { unit, gate } = batch[j]!;
      const first = connection.lines[0];
      const detail = { depends_on: gate.name, requires: "success", current_status: "started" };
      const waiting = { type: "waiting", unsatisfied: [gate.name], details: [detail] };
      if (!Bun.deepEquals(first, waiting)) {
        errors.add(`start ${unit}: first line ${JSON.stringify(first)}, not ${JSON.stringify(waiting)}`);
      }
      const waiter: Waiter = { unit, gate, connection, done: Promise.resolve(false) };
      waiter.done = connection.waitFor((c) => c.answer?.complete === true, `the last line of ${unit}'s start`, waitMs).then(
        () => ((waiter.arrivedAt = performance.now()), true),
        () => false,
      );
      waiters.push(waiter);
    });
  }

  say(`load for ${options.seconds} s`);
  const load = new Load(server.socketPath, options, round, gates, errors, durationMs, graph);
  const sampler = server.sampleRss(50);
  const cpuBefore = { server: server.cpuMs(), soak: process.cpuUsage() };
  const { loadMs } = await load.run();
  const ops = { ...load.ops, total: Object.values(load.ops).reduce((a, b) => a + b, 0) };
  const soakCpu = process.cpuUsage(cpuBefore.soak);
  const cpuMs = { server: server.cpuMs() - cpuBefore.server, soak: (soakCpu.user + soakCpu.system) / 1000 };
  const end = server.rss();
  const peak = Math.max(sampler.stop(), end);
  // Gates not yet due when the load stopped open now.
  await load.openDueGates(admin, Number.POSITIVE_INFINITY);

  say("checking the waiters");
  const outcomes = await Promise.all(waiters.map((w) => w.done));
  const latencies: number[] = [];
  let startedCount = 0;
  let failedCount = 0;
  for (const [i, waiter] of waiters.entries()) {
    if (!outcomes[i]) {
      const got = JSON.stringify(waiter.connection.raw.slice(-300));
      errors.add(`start ${waiter.unit}: no last line ${waitMs} ms after it was held (a lost wake-up); got ${got}`);
      continue;
    }
    const verdict = checkWaiterLines(waiter);
    if (verdict === "started") startedCount++;
    else if (verdict === "dependency_failed") failedCount++;
    else errors.add(verdict.problem);
    if (waiter.arrivedAt !== undefined && waiter.gate.sentAt !== undefined) latencies.push(waiter.arrivedAt - waiter.gate.sentAt);
  }
  const open = outcomes.filter((done) => !done).length;
  for (const waiter of waiters) waiter.connection.close();

  for (const gate of gates) {
    graph.units.set(gate.name, gate.fails ? { status: "failed", reason: GATE_REASON } : { status: "completed" });
  }
  for (const { unit, gate } of waiterUnits) {
    const reason = dependencyFailed(gate.name, GATE_REASON);
    graph.units.set(unit, gate.fails ? { status: "failed", reason } : { status: "started" });
  }

  say("checking the unit list");
  const mismatches = compareUnits(await admin.listUnits(), graph);

  say("letting memory settle");
  const after = await server.settledRss(options.settleMs);
  return {
    round,
    loadMs,
    ops,
    errors: errors.kept,
    errorCount: errors.count,
    freshCycles: load.freshDone.reduce((a, b) => a + b, 0),
    reuseCycles: load.reuseDone,
    waiters: {
      expected: waiters.length,
      started: startedCount,
      dependencyFailed: failedCount,
      open,
      gatesDuringLoad: gates.filter((g) => g.duringLoad).length,
      latencyMs: { median: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies) },
    },
    loadWakeUps: { expected: load.wakeUpsExpected, received: load.wakeUpsReceived },
    graph: { units: (await admin.ping()).units, expectedUnits: graph.units.size, mismatches },
    cpuMs,
    rss: { before, peak, end, after },
  };
}

/** The load of one round: `clients` loops, each alternating fresh-unit and reuse cycles until the time is up. */
class Load {
  readonly ops: Record<OpKind, number> = { want: 0, start: 0, complete: 0, fail: 0 };
  readonly freshDone: number[];
  reuseDone = 0;
  wakeUpsExpected = 0;
  wakeUpsReceived = 0;
  private nextGate = 0;
  private startedAt = 0;

  constructor(
    private readonly socketPath: string,
    private readonly options: SoakOptions,
    private readonly round: number,
    private readonly gates: Gate[],
    private readonly errors: ErrorLog,
    private readonly durationMs: number,
    private readonly graph: ExpectedGraph,
  ) {
    this.freshDone = new Array(options.clients).fill(0);
  }

  async run(): Promise<{ loadMs: number }> {
    this.startedAt = performance.now();
    const deadline = this.startedAt + this.durationMs;
    await Promise.all(
      Array.from({ length: this.options.clients }, async (_, c) => {
        const client = new UnitsyncClient(this.socketPath);
        let pair = 0;
        while (performance.now() < deadline) {
          const elapsed = performance.now() - this.startedAt;
          await this.openDueGates(client, elapsed);
          // Fresh cycles are paced over the round, so that units are added throughout it.
          if (this.freshDone[c]! < Math.ceil((this.options.freshCycles * elapsed) / this.durationMs)) {
            await this.freshCycle(client, c, this.freshDone[c]!++);
          } else {
            await this.reuseCycle(client, c, pair);
            pair = (pair + 1) % this.options.poolPairs;
          }
        }
      }),
    );
    return { loadMs: performance.now() - this.startedAt };
  }

  /** Opens every gate due by `elapsed` ms into the load: complete, or fail on purpose. */
  async openDueGates(client: UnitsyncClient, elapsed: number): Promise<void> {
    while (this.nextGate < this.gates.length && this.gates[this.nextGate]!.dueMs <= elapsed) {
      const gate = this.gates[this.nextGate++]!;
      gate.duringLoad = Number.isFinite(elapsed);
      gate.sentAt = performance.now();
      // A refused gate is an error like any other; its waiters' lines and units then show the rest.
      await this.errors.check(`open ${gate.name}`, () =>
        gate.fails
          ? this.op("fail", [gate.name], async () =>
              same(await client.fail(gate.name, GATE_REASON), { unit_name: gate.name, status: "failed", reason: GATE_REASON }),
            )
          : this.op("complete", [gate.name], async () =>
              same(await client.complete(gate.name), { unit_name: gate.name, status: "completed" }),
            ),
      );
    }
  }

  /** a starts at once; b wants a and waits; completing a wakes b; b completes. Two new units, both completed. */
  private async freshCycle(client: UnitsyncClient, c: number, i: number): Promise<void> {
    const a = `${roundPrefix(this.round)}-c${c}-f${i}a`;
    const b = `${roundPrefix(this.round)}-c${c}-f${i}b`;
    const ok = await this.cycle([a, b], async () => {
      await this.op("start", [a], async () => same(await client.start(a, NOW), started([], [])));
      await this.op("want", [b], async () => same(await client.want(b, [a]), { unit_name: b, dependencies: [a] }));
      const { outcome } = await this.waitingStart(client, b);
      await this.op("complete", [a], async () => same(await client.complete(a), { unit_name: a, status: "completed" }));
      const woken = await outcome.catch((error: unknown) => Promise.reject(new Error(`start ${b}: ${describe(error)}`)));
      same(woken, started([a], [a]));
      this.wakeUpsReceived++;
      await this.op("complete", [b], async () => same(await client.complete(b), { unit_name: b, status: "completed" }));
    });
    if (ok) {
      this.graph.units.set(a, { status: "completed" });
      this.graph.units.set(b, { status: "completed" });
    }
  }

  /**
   * On a pair the client reuses: q wants p; p starts (a retry, after the first time); q
   * waits; p fails, which fails q and wakes its start with `dependency_failed`. No new units.
   */
  private async reuseCycle(client: UnitsyncClient, c: number, j: number): Promise<void> {
    const p = `c${c}-p${j}`;
    const q = `c${c}-q${j}`;
    const ok = await this.cycle([p, q], async () => {
      await this.op("want", [q], async () => same(await client.want(q, [p]), { unit_name: q, dependencies: [p] }));
      await this.op("start", [p], async () => same(await client.start(p, NOW), started([], [])));
      const { outcome } = await this.waitingStart(client, q);
      await this.op("fail", [p], async () =>
        same(await client.fail(p, RETRY_REASON), { unit_name: p, status: "failed", reason: RETRY_REASON }),
      );
      const error = await outcome.then(
        (line) => new Error(`start ${q} started (${JSON.stringify(line)}) though ${p} failed`),
        (error: unknown) => error,
      );
      if (!(error instanceof UnitsyncError)) throw error;
      const woken = { code: "dependency_failed", message: `${q}: ${dependencyFailed(p, RETRY_REASON)}` };
      same({ code: error.code, message: error.message }, woken);
      this.wakeUpsReceived++;
    });
    if (ok) {
      this.reuseDone++;
      this.graph.units.set(p, { status: "failed", reason: RETRY_REASON });
      this.graph.units.set(q, { status: "failed", reason: dependencyFailed(p, RETRY_REASON) });
    }
  }

  /** Starts `unit` and resolves once the server said it waits, with the start's outcome still to come. */
  private async waitingStart(client: UnitsyncClient, unit: string): Promise<{ outcome: Promise<StartedLine> }> {
    const waiting = Promise.withResolvers<void>();
    this.ops.start++;
    const outcome = client.start(unit, { timeoutMs: LOAD_START_TIMEOUT_MS, progressMs: 0, onWaiting: () => waiting.resolve() });
    // Handled by the caller; until then a rejection must not count as unhandled.
    outcome.catch(() => {});
    const early = outcome.then(
      (line) => Promise.reject(new Error(`start ${unit} did not wait: ${JSON.stringify(line)}`)),
      (error: unknown) => Promise.reject(new Error(`start ${unit} failed before it waited: ${describe(error)}`)),
    );
    early.catch(() => {});
    await Promise.race([waiting.promise, early]);
    this.wakeUpsExpected++;
    // Wrapped: an async function returning the promise itself would wait for it.
    return { outcome };
  }

  private async op(kind: OpKind, units: string[], call: () => Promise<void>): Promise<void> {
    this.ops[kind]++;
    try {
      await call();
    } catch (error) {
      throw new Error(`${kind} ${units.join(" ")}: ${describe(error)}`);
    }
  }

  private async cycle(units: string[], body: () => Promise<void>): Promise<boolean> {
    try {
      await body();
      for (const unit of units) this.graph.uncertain.delete(unit);
      return true;
    } catch (error) {
      // What the server made of a cycle that went wrong is unknown: the unit list check skips its units.
      this.errors.add(describe(error));
      for (const unit of units) {
        this.graph.uncertain.add(unit);
        this.graph.units.delete(unit);
      }
      return false;
    }
  }
}

/** Classifies one waiter's lines: waiting, any progress lines, and the outcome its gate calls for. */
function checkWaiterLines(waiter: Waiter): "started" | "dependency_failed" | { problem: string } {
  const { unit, gate, connection } = waiter;
  const answer = connection.answer!;
  let lines: StartLine[];
  try {
    lines = connection.lines as StartLine[];
  } catch {
    return { problem: `start ${unit}: an answer that is not NDJSON: ${JSON.stringify(answer.body.slice(0, 300))}` };
  }
  const last = lines.at(-1);
  const middle = lines.slice(1, -1);
  const expectedLast = gate.fails
    ? { type: "error", error: { code: "dependency_failed", message: `${unit}: ${dependencyFailed(gate.name, GATE_REASON)}` } }
    : started([gate.name], [gate.name]);
  const progressOk = middle.every((line) => line.type === "progress" && Bun.deepEquals(line.unsatisfied, [gate.name]));
  if (answer.status !== 200 || lines.length < 2 || !progressOk || !Bun.deepEquals(withoutTraceparent(last), expectedLast)) {
    const got = JSON.stringify(lines).slice(0, 500);
    return { problem: `start ${unit}: HTTP ${answer.status}, lines ${got}; expected last ${JSON.stringify(expectedLast)}` };
  }
  return gate.fails ? "dependency_failed" : "started";
}

/** Every registered unit against the expectation, in words; uncertain units are skipped. */
function compareUnits(units: UnitListEntry[], { units: expected, uncertain }: ExpectedGraph): string[] {
  const mismatches: string[] = [];
  const seen = new Set<string>();
  for (const unit of units) {
    seen.add(unit.unit_name);
    if (uncertain.has(unit.unit_name)) continue;
    const want = expected.get(unit.unit_name);
    const got: Expectation = unit.reason === undefined ? { status: unit.status } : { status: unit.status, reason: unit.reason };
    if (!want) mismatches.push(`${unit.unit_name}: registered (${JSON.stringify(got)}) but no client registered it`);
    else if (!Bun.deepEquals(got, want)) {
      mismatches.push(`${unit.unit_name}: ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    }
  }
  for (const name of expected.keys()) if (!seen.has(name)) mismatches.push(`${name}: missing from the unit list`);
  const more = mismatches.length - KEEP_ERRORS;
  return more > 0 ? [...mismatches.slice(0, KEEP_ERRORS), `... ${more} more`] : mismatches;
}

/** The server process: its socket, its log (read as it comes, only the unexpected kept) and its memory. */
class SoakServer {
  warnings: string[] = [];
  logLines = 0;
  private constructor(
    readonly socketPath: string,
    private readonly process: Bun.Subprocess<"ignore", "ignore", "pipe">,
  ) {}

  static async start(binary: string, socketPath: string): Promise<SoakServer> {
    const env: Record<string, string> = { ...(process.env as Record<string, string>), NO_COLOR: "1" };
    delete env.UNITSYNC_SOCKET_PATH;
    const child = Bun.spawn([binary, "serve", "--socket-path", socketPath], {
      env,
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    liveServers.add(child);
    void child.exited.then(() => liveServers.delete(child));
    const server = new SoakServer(socketPath, child);
    const serving = Promise.withResolvers<void>();
    void server.readLog((line) => line.includes(" serving on ") && serving.resolve());
    void child.exited.then((code) => serving.reject(new Error(`unitsync serve exited ${code}: ${server.warnings.join("\n")}`)));
    await serving.promise;
    return server;
  }

  get pid(): number {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Resident memory now, in bytes. */
  rss(): number {
    return processMemory(this.pid).rss;
  }

  /** CPU time used so far (user + system), ms. */
  cpuMs(): number {
    return processCpuMs(this.pid);
  }

  /** Samples memory every `everyMs` until `stop`, which returns the highest sample. */
  sampleRss(everyMs: number): { stop(): number } {
    let peak = this.rss();
    const timer = setInterval(() => (peak = Math.max(peak, this.rss())), everyMs);
    return {
      stop: () => {
        clearInterval(timer);
        return peak;
      },
    };
  }

  /**
   * The lowest memory seen while nothing happens for `ms`: sampled every 100 ms, so that
   * the garbage collector and the allocator may give back what the load no longer holds.
   * A leak cannot be given back, so the lowest sample still shows it.
   */
  async settledRss(ms: number): Promise<number> {
    let lowest = this.rss();
    for (const until = performance.now() + ms; performance.now() < until; ) {
      await Bun.sleep(100);
      lowest = Math.min(lowest, this.rss());
    }
    return lowest;
  }

  async stop(): Promise<void> {
    this.process.kill("SIGTERM");
    const exited = await Promise.race([this.process.exited.then(() => true), Bun.sleep(5_000).then(() => false)]);
    if (!exited) this.process.kill("SIGKILL");
    await this.process.exited;
  }

  private async readLog(onLine: (line: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of this.process.stderr) {
      buffered += decoder.decode(chunk, { stream: true });
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        this.logLines++;
        onLine(line);
        // consola's basic lines: "HH:MM:SS.mmm info  ..."; anything else is worth showing.
        if (!/^\d\d:\d\d:\d\d\.\d{3} info /.test(line) && this.warnings.length < KEEP_ERRORS) this.warnings.push(line);
      }
    }
  }
}

class ErrorLog {
  kept: string[] = [];
  count = 0;

  add(message: string): void {
    this.count++;
    if (this.kept.length < KEEP_ERRORS) this.kept.push(message);
  }

  async check(what: string, call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (error) {
      this.add(`${what}: ${describe(error)}`);
    }
  }
}

function roundPrefix(round: number): string {
  return `r${round}`;
}

function same(actual: unknown, expected: unknown): void {
  actual = withoutTraceparent(actual);
  if (!Bun.deepEquals(actual, expected)) throw new Error(`got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

function started(dependencies: string[], waitedFor: string[]): StartedLine {
  return { type: "started", dependencies, waited_for: waitedFor };
}

/** The reason a unit fails with when its dependency `unit` failed with `reason` (the graph's wording). */
function dependencyFailed(unit: string, reason: string): string {
  return `dependency ${JSON.stringify(unit)} failed: ${reason}`;
}

function describe(error: unknown): string {
  if (error instanceof UnitsyncError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/** A started line's W3C traceparent names its unit's span, new for every unit: checked for its form, then left out of comparisons. */
function withoutTraceparent(line: unknown): unknown {
  if (typeof line !== "object" || line === null || !("traceparent" in line)) return line;
  const { traceparent, ...rest } = line as { traceparent: unknown };
  return typeof traceparent === "string" && /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(traceparent) ? rest : line;
}
