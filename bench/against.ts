/**
 * unitsync against an earlier revision of itself: the current binary and one built from
 * `--against REV` (default 9d7c880, the v1 server before timestamps and the event log)
 * run side by side, each with its own fresh `serve`, trials alternating between them.
 * It measures what scripts pay (client commands, wake-up of a waiting start) and what the
 * server pays per request (want+start+complete over HTTP from this process, no spawns).
 * Usage: `bun run bench/against.ts [--against REV] [binary]`.
 */
import { $ } from "bun";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { compile } from "../build.ts";
import {
  expectSuccess,
  killAll,
  markdownTable,
  ms,
  onAnyExit,
  progress,
  shuffle,
  spawn,
  summarize,
  timeRun,
  within,
  writeReport,
  type Child,
} from "./lib.ts";

const ROOT = join(import.meta.dir, "..");
const DEFAULT_REVISION = "9d7c880";
const { values: options, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { against: { type: "string", default: DEFAULT_REVISION } },
  allowPositionals: true,
});
const CURRENT = resolve(positionals[0] ?? join(ROOT, "dist", "unitsync"));

const CLI_RUNS = 200;
const WAKE_UP_TRIALS = 200;
const WARMUP = 10;
// Server-side: 10,000 timed want+start+complete per server, in blocks that alternate
// between the servers, after a warm-up block each so both JITs are hot.
const API_OPERATIONS = 10_000;
const API_BLOCK = 500;
const API_WARMUP = 500;
const WAITING_LINE = "is waiting for dependencies";
/** The issue's budget: the event log and timestamps may cost want/start/complete at most this much. */
const ALLOWED_RATIO = 1.1;

// "base": the binary built from --against; "now": the current one.
type Side = "base" | "now";
const SIDES: readonly Side[] = ["base", "now"];

interface Server {
  binary: string;
  socketPath: string;
  env: Record<string, string>;
  child: Child;
}

const dir = mkdtempSync(join(tmpdir(), "unitsync-against-"));
onAnyExit(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

try {
  const revision = (await $`git -C ${ROOT} rev-parse --short ${`${options.against}^{commit}`}`.quiet().text()).trim();
  const binaries: Record<Side, string> = { base: await buildRevision(revision), now: CURRENT };
  const versions = await versionsOf(binaries);

  let servers = await serveBoth(binaries, "cli");
  const cli = await measureCli(servers);
  const wakeUp = await measureWakeUp(servers);
  await stopBoth(servers);

  servers = await serveBoth(binaries, "api");
  const api = await measureApi(servers);
  await stopBoth(servers);

  const report = buildReport(revision, versions, [...cli, wakeUp, ...api]);
  await writeReport("against", report);
} finally {
  killAll();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Compiles `revision`'s src/main.ts with today's build.ts, so only the source differs.
 * The tree comes from `git archive` (no worktree to forget) and borrows our node_modules:
 * the dependencies of the revisions compared must be the same.
 */
async function buildRevision(revision: string): Promise<string> {
  progress(`building ${revision}`);
  const tree = join(dir, `tree-${revision}`);
  mkdirSync(tree);
  await $`git -C ${ROOT} archive ${revision} | tar -x -C ${tree}`.quiet();
  symlinkSync(join(ROOT, "node_modules"), join(tree, "node_modules"));
  const binary = join(dir, `unitsync-${revision}`);
  await compile(join(tree, "src", "main.ts"), binary);
  rmSync(tree, { recursive: true, force: true });
  return binary;
}

async function versionsOf(binaries: Record<Side, string>): Promise<Record<Side, string>> {
  const entries = await Promise.all(
    SIDES.map(async (side) => {
      const child = spawn([binaries[side], "--version"], process.env as Record<string, string>);
      await expectSuccess(child, `${binaries[side]} --version`);
      return [side, (await child.stdout.done).trim()] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<Side, string>;
}

/** A fresh `serve` per binary, each on its own socket, both up before anything is timed. */
async function serveBoth(binaries: Record<Side, string>, phase: string): Promise<Record<Side, Server>> {
  const servers = {} as Record<Side, Server>;
  for (const side of SIDES) {
    const socketPath = join(dir, `${phase}-${side}.sock`);
    const env = { ...(process.env as Record<string, string>), NO_COLOR: "1", UNITSYNC_SOCKET_PATH: socketPath };
    const child = spawn([binaries[side], "serve"], env);
    await child.stderr.until("serving on");
    servers[side] = { binary: binaries[side], socketPath, env, child };
  }
  return servers;
}

async function stopBoth(servers: Record<Side, Server>): Promise<void> {
  for (const side of SIDES) servers[side].child.proc.kill("SIGTERM");
  await Promise.all(SIDES.map((side) => servers[side].child.proc.exited));
}

/** One request from this process; the whole answer is read, so a `start` is over when this returns. */
async function api(server: Server, method: string, path: string, body?: unknown): Promise<string> {
  const response = await fetch(`http://unitsync/v1${path}`, {
    method,
    unix: server.socketPath,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} on ${server.binary}: HTTP ${response.status} ${text}`);
  return text;
}

/** `want unit dependency`, then a `start` that must not wait: the set-up of every trial. */
async function wantAndStart(server: Server, unit: string, dependency: string): Promise<void> {
  await api(server, "POST", `/units/${unit}/dependencies`, { depends_on: [dependency] });
  await startNow(server, unit);
}

async function startNow(server: Server, unit: string): Promise<void> {
  const answer = await api(server, "POST", `/units/${unit}/start`, { timeout_ms: 60_000 });
  if (!answer.includes(`"type":"started"`)) throw new Error(`start ${unit} on ${server.binary} did not start: ${answer}`);
}

/** One operation measured on both sides: its samples in ms, and how they are printed. */
interface Measured {
  label: string;
  unit: "ms" | "µs";
  samples: Record<Side, number[]>;
  /** Sum of all samples, for the rows where the total is the figure (API blocks). */
  total?: boolean;
}

interface CliCommand {
  label: string;
  command: (binary: string, i: number) => string[];
}

/**
 * Wall time of one client process, spawn to exit. Every round runs each command once on
 * each side, commands shuffled and the two sides in a random order, so noise hits both alike.
 * Units are registered beforehand over HTTP, so each run finds the state it needs.
 */
async function measureCli(servers: Record<Side, Server>): Promise<Measured[]> {
  const rounds = WARMUP + CLI_RUNS;
  for (const side of SIDES) {
    progress(`registering units for the CLI runs (${side})`);
    const server = servers[side];
    await startNow(server, "cli-done");
    await api(server, "POST", "/units/cli-done/complete");
    await api(server, "POST", "/units/cli-status/dependencies", { depends_on: ["cli-done"] });
    for (let i = 0; i < rounds; i++) {
      await api(server, "POST", `/units/cli-start-${i}/dependencies`, { depends_on: ["cli-done"] });
      await api(server, "POST", `/units/cli-complete-${i}/dependencies`, { depends_on: ["cli-done"] });
    }
  }
  const commands: CliCommand[] = [
    { label: "`unitsync want` (fresh unit)", command: (bin, i) => [bin, "want", `cli-want-${i}`, "cli-done"] },
    { label: "`unitsync start` (ready unit)", command: (bin, i) => [bin, "start", `cli-start-${i}`] },
    { label: "`unitsync complete`", command: (bin, i) => [bin, "complete", `cli-complete-${i}`] },
    { label: "`unitsync status -o json`", command: (bin) => [bin, "status", "cli-status", "-o", "json"] },
  ];
  const samples = commands.map(() => ({ base: [] as number[], now: [] as number[] }));
  for (let round = 0; round < rounds; round++) {
    if (round % 10 === 0) progress(`CLI round ${round + 1}/${rounds}`);
    for (const index of shuffle([...commands.keys()])) {
      for (const side of shuffle(SIDES)) {
        const { binary, env } = servers[side];
        const wall = await timeRun(commands[index]!.command(binary, round), env);
        if (round >= WARMUP) samples[index]![side].push(wall);
      }
    }
  }
  return commands.map((c, index) => ({ label: c.label, unit: "ms", samples: samples[index]! }));
}

/**
 * From the spawn of `unitsync complete dep` to the exit of the `unitsync start u` that waited
 * for it: what a start-up script waits for a dependency that another script just finished.
 */
async function measureWakeUp(servers: Record<Side, Server>): Promise<Measured> {
  const samples: Record<Side, number[]> = { base: [], now: [] };
  const trials = WARMUP + WAKE_UP_TRIALS;
  for (let trial = 0; trial < trials; trial++) {
    if (trial % 10 === 0) progress(`wake-up trial ${trial + 1}/${trials}`);
    for (const side of shuffle(SIDES)) {
      const latency = await wakeUpTrial(servers[side], `wake-${trial}`);
      if (trial >= WARMUP) samples[side].push(latency);
    }
  }
  return { label: "wake-up: `complete` spawn -> waiting `start` exit", unit: "ms", samples };
}

/** One trial on fresh names: `unit` wants a started `dependency`, waits, and another process completes it. */
async function wakeUpTrial(server: Server, unit: string): Promise<number> {
  const dependency = `${unit}-dep`;
  await api(server, "POST", `/units/${unit}/dependencies`, { depends_on: [dependency] });
  await startNow(server, dependency);
  const waiter = spawn([server.binary, "start", unit, "--timeout", "1m"], server.env);
  await waiter.stdout.until(WAITING_LINE);
  const spawnedAt = performance.now();
  const completer = spawn([server.binary, "complete", dependency], server.env);
  const [, wokeAt] = await within(Promise.all([completer.exitedAt, waiter.exitedAt]), 5_000, `wake-up of ${unit}`);
  await expectSuccess(completer, `complete ${dependency}`);
  await expectSuccess(waiter, `start ${unit}`);
  if (!waiter.stdout.text.includes("finished waiting")) throw new Error(`start ${unit} did not wait: ${waiter.stdout.text}`);
  return wokeAt - spawnedAt;
}

/**
 * The server's own cost, without process start-up: from this process, one request at a time,
 * `want u base` (base is completed), `start u` (ready at once, answer read to the end) and
 * `complete u` on fresh units. Each request is timed, and so is each block of API_BLOCK of
 * them; blocks alternate between the servers in a random order. Every operation adds about
 * five events, so the new server's ring of 10,000 wraps several times: the steady state.
 */
async function measureApi(servers: Record<Side, Server>): Promise<Measured[]> {
  const samples = {
    want: { base: [] as number[], now: [] as number[] },
    start: { base: [] as number[], now: [] as number[] },
    complete: { base: [] as number[], now: [] as number[] },
    block: { base: [] as number[], now: [] as number[] },
  };
  for (const side of SIDES) {
    await startNow(servers[side], "base");
    await api(servers[side], "POST", "/units/base/complete");
  }
  const blocks = API_OPERATIONS / API_BLOCK;
  for (const side of SIDES) {
    progress(`HTTP warm-up (${side})`);
    await apiBlock(servers[side], "warm", API_WARMUP);
  }
  for (let block = 0; block < blocks; block++) {
    progress(`HTTP block ${block + 1}/${blocks}`);
    for (const side of shuffle(SIDES)) {
      const timed = await apiBlock(servers[side], `b${block}`, API_BLOCK);
      samples.want[side].push(...timed.want);
      samples.start[side].push(...timed.start);
      samples.complete[side].push(...timed.complete);
      samples.block[side].push(timed.total);
    }
  }
  const perRequest = (operation: string) => `server: ${operation} over HTTP, one request (${API_OPERATIONS.toLocaleString("en")} each)`;
  return [
    { label: perRequest("`want`"), unit: "µs", samples: samples.want },
    { label: perRequest("`start` (ready unit)"), unit: "µs", samples: samples.start },
    { label: perRequest("`complete`"), unit: "µs", samples: samples.complete },
    {
      label: `server: ${API_BLOCK} x want+start+complete, one block (${blocks} blocks each; total below)`,
      unit: "ms",
      samples: samples.block,
      total: true,
    },
  ];
}

async function apiBlock(server: Server, prefix: string, count: number) {
  const timed = { want: [] as number[], start: [] as number[], complete: [] as number[], total: 0 };
  const blockStarted = performance.now();
  for (let i = 0; i < count; i++) {
    const unit = `${prefix}-${i}`;
    let at = performance.now();
    await api(server, "POST", `/units/${unit}/dependencies`, { depends_on: ["base"] });
    timed.want.push(performance.now() - at);
    at = performance.now();
    await startNow(server, unit);
    timed.start.push(performance.now() - at);
    at = performance.now();
    await api(server, "POST", `/units/${unit}/complete`);
    timed.complete.push(performance.now() - at);
  }
  timed.total = performance.now() - blockStarted;
  return timed;
}

function buildReport(revision: string, versions: Record<Side, string>, measured: Measured[]) {
  const rows = measured.map((m) => {
    const base = summarize(m.samples.base);
    const now = summarize(m.samples.now);
    return { ...m, base, now, ratio: now.median / base.median, p99Ratio: now.p99 / base.p99 };
  });
  const show = (value: number, unit: Measured["unit"]) => (unit === "µs" ? `${Math.round(value * 1000)} µs` : ms(value));
  const verdict = (ratio: number) =>
    `${ratio <= ALLOWED_RATIO ? "within 10%" : "**more than 10% slower**"} (${signedPercent(ratio)} at the median)`;
  const sum = (samples: number[]) => samples.reduce((a, b) => a + b, 0);
  const cores = availableParallelism();
  const markdown = [
    `# unitsync now against ${revision}`,
    ``,
    `${new Date().toISOString()}, ${revision} (${versions.base}) against ${CURRENT} (${versions.now}), Bun ${Bun.version}, ${process.platform}-${process.arch}, ${cores} cores`,
    ``,
    `Medians and nearest-rank p99 over one run, the two sides interleaved; ratio = now / ${revision}. Budget: now within 10% at the median.`,
    ``,
    markdownTable(
      ["operation", "samples per side", `${revision} median`, "now median", "ratio", `${revision} p99`, "now p99", "p99 ratio"],
      rows.map((r) => [
        r.label,
        String(r.base.n),
        show(r.base.median, r.unit),
        show(r.now.median, r.unit),
        `${r.ratio.toFixed(2)}x`,
        show(r.base.p99, r.unit),
        show(r.now.p99, r.unit),
        `${r.p99Ratio.toFixed(2)}x`,
      ]),
    ),
    ``,
    ...rows
      .filter((r) => r.total)
      .map((r) => {
        const [base, now] = [sum(r.samples.base), sum(r.samples.now)];
        const each = (total: number) => show(total / API_OPERATIONS, "µs");
        return `Total for ${API_OPERATIONS.toLocaleString("en")} want+start+complete: ${revision} ${ms(base)}, now ${ms(now)} (${(now / base).toFixed(2)}x); ${each(base)} against ${each(now)} per want+start+complete.\n`;
      }),
    ...rows.map((r) => `- ${r.label}: ${verdict(r.ratio)}`),
    ``,
  ].join("\n");
  const json = {
    date: new Date().toISOString(),
    against: revision,
    versions,
    binary: CURRENT,
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
    cores,
    allowed_ratio: ALLOWED_RATIO,
    rows: rows.map((r) => ({
      label: r.label,
      base: r.base,
      now: r.now,
      ratio: r.ratio,
      p99_ratio: r.p99Ratio,
      within: r.ratio <= ALLOWED_RATIO,
      samples_ms: r.samples,
    })),
  };
  return { markdown, json };
}

function signedPercent(ratio: number): string {
  const percent = (ratio - 1) * 100;
  return `${percent < 0 ? "" : "+"}${percent.toFixed(1)}%`;
}
