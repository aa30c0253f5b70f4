/**
 * The unitsync benchmark: wake-up latency of a waiting `start` against 1-second pollers,
 * and the cost of one client command against a do-nothing Bun binary. Every figure is
 * measured in this run against baselines in this run, trials interleaved, because the
 * machines it runs on are small and shared. Usage: `bun run bench/run.ts [binary]`.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  compile,
  expectSuccess,
  killAll,
  onAnyExit,
  markdownTable,
  ms,
  shuffle,
  spawn,
  summarize,
  within,
  timeRun,
  type Child,
  type Summary,
} from "./lib.ts";

const ROOT = join(import.meta.dir, "..");
const BINARY = resolve(process.argv[2] ?? join(ROOT, "dist", "unitsync"));
const RESULTS = join(import.meta.dir, "results");
const TRUE = Bun.which("true") ?? "/bin/true";

const PUSH_TRIALS = 50;
const POLL_TRIALS = 20;
const CLI_RUNS = 100;
const WARMUP = 5;
const WAITING_LINE = "is waiting for dependencies";

// Coder's `exp sync start`: check once, print the waiting line, then re-check every second
// (first re-check 1 s after the line) until ready. Coder re-checks over an open connection;
// here each check is a process, which costs the baseline a few ms per check, not more.
const CODER_LOOP = `
bin=$1 unit=$2
ready() { "$bin" status "$unit" -o json | grep -q '"is_ready": *true'; }
if ! ready; then
  echo "Unit \\"$unit\\" ${WAITING_LINE} to be satisfied"
  until sleep 1; ready; do :; done
fi`;

// The loop people write when they have nothing better: wait for a file another script touches.
const MARKER_LOOP = `
echo "${WAITING_LINE}: $1"
while [ ! -f "$1" ]; do sleep 1; done`;

type Waiter = "unitsync" | "coder" | "marker";

const WAITERS: Record<Waiter, { label: string; trials: number }> = {
  unitsync: { label: "unitsync start (push)", trials: PUSH_TRIALS },
  coder: { label: "Coder-style poll: `status -o json` every 1 s", trials: POLL_TRIALS },
  marker: { label: "marker file: `while [ ! -f m ]; do sleep 1; done`", trials: POLL_TRIALS },
};

const dir = mkdtempSync(join(tmpdir(), "unitsync-bench-"));
onAnyExit(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});
const socketPath = join(dir, "unitsync.sock");
const env = { ...(process.env as Record<string, string>), NO_COLOR: "1", UNITSYNC_SOCKET_PATH: socketPath };
let server: Child | undefined;

try {
  progress("compiling baselines");
  const noop = join(dir, "noop");
  const leanPing = join(dir, "lean-ping");
  await compile(join(import.meta.dir, "noop.ts"), noop);
  await compile(join(import.meta.dir, "lean-ping.ts"), leanPing);

  server = spawn([BINARY, "serve", "--socket-path", socketPath], env);
  await server.stderr.until("serving on");

  const wakeUp = await measureWakeUp();
  const cli = await measureCli(noop, leanPing);
  const report = await buildReport(wakeUp, cli);

  mkdirSync(RESULTS, { recursive: true });
  await Bun.write(join(RESULTS, "latest.md"), report.markdown);
  await Bun.write(join(RESULTS, "latest.json"), `${JSON.stringify(report.json, roundToMicroseconds, 2)}\n`);
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  console.log(report.markdown);
} finally {
  killAll();
  await server?.proc.exited;
  rmSync(dir, { recursive: true, force: true });
}

/** Runs every kind of waiter, trials shuffled together so noise hits all kinds alike. */
async function measureWakeUp(): Promise<Record<Waiter, WakeUp[]>> {
  const kinds = Object.keys(WAITERS) as Waiter[];
  // Pollers wake at the first tick after the completion, so the completion has to land at
  // every point of the 1-s cycle: evenly spread phases, shuffled, drawn alike for every kind.
  const phases = Object.fromEntries(
    kinds.map((kind) => [kind, shuffle(Array.from({ length: WAITERS[kind].trials }, (_, i) => ((i + 0.5) * 1000) / WAITERS[kind].trials))]),
  ) as Record<Waiter, number[]>;
  for (let i = 0; i < WARMUP; i++) await wakeUpTrial("unitsync", `warmup-${i}`, 0);

  const schedule = shuffle(kinds.flatMap((kind) => Array<Waiter>(WAITERS[kind].trials).fill(kind)));
  const samples: Record<Waiter, WakeUp[]> = { unitsync: [], coder: [], marker: [] };
  for (const [n, kind] of schedule.entries()) {
    progress(`wake-up trial ${n + 1}/${schedule.length} (${kind})`);
    samples[kind].push(await wakeUpTrial(kind, `${kind}-${samples[kind].length}`, phases[kind][samples[kind].length]!));
  }
  return samples;
}

/** Milliseconds from the completing process's exit (or spawn) to the waiting process's exit. */
interface WakeUp {
  fromExit: number;
  fromSpawn: number;
}

/**
 * One trial on fresh unit names: `unit` wants `dependency`, the waiter blocks until its
 * waiting line is out, then `phaseMs` later the dependency completes.
 */
async function wakeUpTrial(kind: Waiter, unit: string, phaseMs: number): Promise<WakeUp> {
  const dependency = `${unit}-dep`;
  const marker = join(dir, `${dependency}.done`);
  if (kind !== "marker") {
    await expectSuccess(spawn([BINARY, "want", unit, dependency], env), "want");
    await expectSuccess(spawn([BINARY, "start", dependency], env), "start of the dependency");
  }
  const waiterCommand = {
    unitsync: [BINARY, "start", unit, "--timeout", "1m"],
    coder: ["bash", "-c", CODER_LOOP, "coder-loop", BINARY, unit],
    marker: ["bash", "-c", MARKER_LOOP, "marker-loop", marker],
  }[kind];
  const waiter = spawn(waiterCommand, env);
  await waiter.stdout.until(WAITING_LINE);
  // Not waiting for an event: this places the completion at a chosen point of the pollers' cycle.
  await Bun.sleep(phaseMs);
  const spawnedAt = performance.now();
  const completer = spawn(kind === "marker" ? ["touch", marker] : [BINARY, "complete", dependency], env);
  const [completedAt, wokeAt] = await within(Promise.all([completer.exitedAt, waiter.exitedAt]), 5_000, `wake-up of ${unit}`);
  await expectSuccess(completer, `completing ${dependency}`);
  await expectSuccess(waiter, `${kind} waiter for ${unit}`);
  if (kind === "unitsync" && !waiter.stdout.text.includes("finished waiting")) {
    throw new Error(`unitsync start did not wait: ${waiter.stdout.text}`);
  }
  return { fromExit: wokeAt - completedAt, fromSpawn: wokeAt - spawnedAt };
}

interface CliCommand {
  label: string;
  command: (i: number) => string[];
}

/** Wall time of one client process per command, rounds interleaved and shuffled. */
async function measureCli(noop: string, leanPing: string): Promise<{ label: string; samples: number[] }[]> {
  const rounds = WARMUP + CLI_RUNS;
  progress("registering units for the CLI runs");
  await expectSuccess(spawn([BINARY, "want", "cli-status", "cli-dep"], env), "want");
  for (let i = 0; i < rounds; i++) await expectSuccess(spawn([BINARY, "want", `cli-complete-${i}`, "cli-dep"], env), "want");

  const commands: CliCommand[] = [
    { label: "`true` (spawn floor: not Bun)", command: () => [TRUE] },
    { label: "do-nothing Bun binary (baseline)", command: () => [noop] },
    { label: "lean client: one fetch over the socket", command: () => [leanPing] },
    { label: "`unitsync --version` (no socket)", command: () => [BINARY, "--version"] },
    { label: "`unitsync ping`", command: () => [BINARY, "ping"] },
    { label: "`unitsync want`", command: (i) => [BINARY, "want", `cli-want-${i}`, "cli-dep"] },
    { label: "`unitsync complete`", command: (i) => [BINARY, "complete", `cli-complete-${i}`] },
    { label: "`unitsync status -o json`", command: () => [BINARY, "status", "cli-status", "-o", "json"] },
  ];
  const samples = commands.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    if (round % 10 === 0) progress(`CLI round ${round + 1}/${rounds}`);
    for (const index of shuffle([...commands.keys()])) {
      const wall = await timeRun(commands[index]!.command(round), env);
      if (round >= WARMUP) samples[index]!.push(wall);
    }
  }
  return commands.map((c, index) => ({ label: c.label, samples: samples[index]! }));
}

async function buildReport(wakeUp: Record<Waiter, WakeUp[]>, cli: { label: string; samples: number[] }[]) {
  const version = (await spawn([BINARY, "--version"], env).stdout.done).trim();
  const kinds = Object.keys(wakeUp) as Waiter[];
  const wake = Object.fromEntries(
    kinds.map((kind) => [kind, { ...summarize(wakeUp[kind].map((w) => w.fromExit)), fromSpawn: summarize(wakeUp[kind].map((w) => w.fromSpawn)) }]),
  ) as Record<Waiter, Summary & { fromSpawn: Summary }>;
  const cliSummaries = cli.map((c) => ({ label: c.label, ...summarize(c.samples) }));
  const noop = cliSummaries.find((c) => c.label.startsWith("do-nothing"))!;
  const ping = cliSummaries.find((c) => c.label.includes("ping`"))!;
  const targets = [
    { target: "wake-up median < 15 ms", measured: ms(wake.unitsync.median), pass: wake.unitsync.median < 15 },
    {
      target: "`ping` median <= 1.5x do-nothing binary",
      measured: `${(ping.median / noop.median).toFixed(2)}x`,
      pass: ping.median <= 1.5 * noop.median,
    },
  ];
  const cores = availableParallelism();
  const markdown = [
    `# unitsync benchmark`,
    ``,
    `${new Date().toISOString()}, ${version}, Bun ${Bun.version}, ${process.platform}-${process.arch}, ${cores} cores`,
    ``,
    `## Wake-up latency: completing process exits -> waiting process exits`,
    ``,
    markdownTable(
      ["waiter", "trials", "median", "p99", "min", "max", "median from `complete` spawn", "vs unitsync (from spawn)"],
      kinds.map((kind) => {
        const s = wake[kind];
        const ratio = s.fromSpawn.median / wake.unitsync.fromSpawn.median;
        return [WAITERS[kind].label, String(s.n), ms(s.median), ms(s.p99), ms(s.min), ms(s.max), ms(s.fromSpawn.median), `${ratio.toFixed(ratio < 10 ? 1 : 0)}x`];
      }),
    ),
    ``,
    `## CLI cost: wall time of one process, spawn to exit`,
    ``,
    markdownTable(
      ["command", "runs", "median", "p99", "median vs do-nothing", "over do-nothing"],
      cliSummaries.map((s) => [s.label, String(s.n), ms(s.median), ms(s.p99), `${(s.median / noop.median).toFixed(2)}x`, signedMs(s.median - noop.median)]),
    ),
    ``,
    `## Targets`,
    ``,
    markdownTable(
      ["target", "measured", "result"],
      targets.map((t) => [t.target, t.measured, t.pass ? "pass" : "FAIL"]),
    ),
    ``,
  ].join("\n");
  const json = {
    date: new Date().toISOString(),
    version,
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
    cores,
    wake_up_ms: Object.fromEntries(kinds.map((k) => [k, { ...wake[k], samples: wakeUp[k] }])),
    cli_ms: cliSummaries.map((s, i) => ({ ...s, samples: cli[i]!.samples })),
    targets,
  };
  return { markdown, json };
}

/** Timer digits below a microsecond are noise; dropping them keeps the JSON readable. */
function roundToMicroseconds(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
}

function signedMs(value: number): string {
  return `${value < 0 ? "-" : "+"}${ms(Math.abs(value))}`;
}

/** Progress goes to stderr, so stdout carries the table and nothing else; a terminal sees one line. */
function progress(message: string): void {
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${message}` : `${message}\n`);
}
