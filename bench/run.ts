/**
 * The unitsync benchmark: wake-up latency of a waiting `start` against 1-second pollers,
 * the cost of one client command against a do-nothing Bun binary, how fast a failure stops
 * a cone of 99 waiting starts against a mass release by `complete`, and how soon a tcp
 * readiness probe notices a port against a 1-second /dev/tcp loop. Every figure is
 * measured in this run against baselines in this run, trials interleaved, because the
 * machines it runs on are small and shared. Usage: `bun run bench/run.ts [binary]`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { compile } from "../build.ts";
import {
  expectSuccess,
  freePort,
  inBatches,
  killAll,
  onAnyExit,
  markdownTable,
  ms,
  progress,
  shuffle,
  spawn,
  summarize,
  within,
  writeReport,
  timeRun,
  type Child,
  type Summary,
} from "./lib.ts";

const ROOT = join(import.meta.dir, "..");
const BINARY = resolve(process.argv[2] ?? join(ROOT, "dist", "unitsync"));
const TRUE = Bun.which("true") ?? "/bin/true";

const PUSH_TRIALS = 50;
const POLL_TRIALS = 20;
const CLI_RUNS = 100;
const WARMUP = 5;
const WAITING_LINE = "is waiting for dependencies";
// A root and 99 units downstream of it, each with a waiting start: 99 processes at once.
const CONE_UNITS = 100;
const CONE_TRIALS = 12;
const PROBE_TRIALS = 24;
const DEVTCP_TRIALS = 6;

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

// The loop people write to wait for a port when they have no probe: bash's /dev/tcp every
// second (nc -z where nc is installed), then the unit is completed as unitsync's probe does.
const DEVTCP_LOOP = `
bin=$1 unit=$2 port=$3
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 1; done
"$bin" complete "$unit"`;

type Waiter = "unitsync" | "coder" | "marker";

const WAITERS: Record<Waiter, { label: string; trials: number }> = {
  unitsync: { label: "unitsync start (push)", trials: PUSH_TRIALS },
  coder: { label: "Coder-style poll: `status -o json` every 1 s", trials: POLL_TRIALS },
  marker: { label: "marker file: `while [ ! -f m ]; do sleep 1; done`", trials: POLL_TRIALS },
};

type ConeKind = "fail" | "complete";

const CONES: Record<ConeKind, { label: string; exitCode: number }> = {
  fail: { label: "`fail` the root of a cone of 99: every start exits 3", exitCode: 3 },
  complete: { label: "`complete` the root of 99 direct dependents: every start exits 0 (baseline)", exitCode: 0 },
};

type Prober = "unitsync" | "devtcp";

const PROBERS: Record<Prober, { label: string; trials: number }> = {
  unitsync: { label: "`unitsync complete --when tcp:...`", trials: PROBE_TRIALS },
  devtcp: { label: "bash `/dev/tcp` check every 1 s, then `unitsync complete`", trials: DEVTCP_TRIALS },
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
  const cone = await measureCone();
  const probe = await measureProbe();
  const report = await buildReport(wakeUp, cli, cone, probe);

  await writeReport("latest", report);
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

/**
 * When the waiters got out. `last`: from the triggering process's exit to the last waiter's
 * exit (the exits race, as in the wake-up figure). From the trigger's spawn: the first and
 * the last waiter's exit, which include the trigger's own start-up and 100 processes
 * waking and exiting at once.
 */
interface ConeRelease {
  last: number;
  firstFromSpawn: number;
  lastFromSpawn: number;
}

/** Cone trials of both kinds, shuffled together, each on fresh unit names. */
async function measureCone(): Promise<Record<ConeKind, ConeRelease[]>> {
  const schedule = shuffle((Object.keys(CONES) as ConeKind[]).flatMap((kind) => Array<ConeKind>(CONE_TRIALS).fill(kind)));
  const samples: Record<ConeKind, ConeRelease[]> = { fail: [], complete: [] };
  for (const [n, kind] of schedule.entries()) {
    progress(`failure cone trial ${n + 1}/${schedule.length} (${kind})`);
    samples[kind].push(await coneTrial(kind, `cone-${kind}-${samples[kind].length}`));
  }
  return samples;
}

/**
 * The dependencies of unit `i` (1..99) of the cone: its parent in a 3-ary tree under the
 * root (unit 0), so the failure travels four levels down, and every 7th unit also wants the
 * unit two before it, so some units are reached twice (diamonds).
 */
function coneDependencies(i: number): number[] {
  const parent = Math.floor((i - 1) / 3);
  return i % 7 === 0 && i - 2 !== parent ? [parent, i - 2] : [parent];
}

/**
 * One trial: the root is started, 99 units are declared downstream of it (the cone for
 * `fail`, all directly on the root for `complete`), a start waits for each, and once all
 * 99 have printed their waiting line one process fails (or completes) the root.
 */
async function coneTrial(kind: ConeKind, prefix: string): Promise<ConeRelease> {
  const name = (i: number) => `${prefix}-${String(i).padStart(2, "0")}`;
  const units = Array.from({ length: CONE_UNITS - 1 }, (_, k) => k + 1);
  await expectSuccess(spawn([BINARY, "start", name(0)], env), "start of the root");
  await inBatches(units, 8, (i) => {
    const dependencies = kind === "fail" ? coneDependencies(i) : [0];
    return expectSuccess(spawn([BINARY, "want", name(i), ...dependencies.map(name)], env), `want ${name(i)}`);
  });
  const waiters = units.map((i) => spawn([BINARY, "start", name(i), "--timeout", "1m"], env));
  await Promise.all(waiters.map((waiter) => waiter.stdout.until(WAITING_LINE, 30_000)));

  const spawnedAt = performance.now();
  const trigger = spawn(kind === "fail" ? [BINARY, "fail", name(0), "--reason", "bench"] : [BINARY, "complete", name(0)], env);
  const [triggeredAt, ...exits] = await within(
    Promise.all([trigger.exitedAt, ...waiters.map((waiter) => waiter.exitedAt)]),
    10_000,
    `release of the ${kind} cone ${prefix}`,
  );
  await expectSuccess(trigger, `${kind} of ${name(0)}`);
  for (const [k, waiter] of waiters.entries()) {
    const code = await waiter.proc.exited;
    if (code !== CONES[kind].exitCode) {
      throw new Error(`start ${name(k + 1)} exited ${code}, not ${CONES[kind].exitCode}: ${(await waiter.stderr.done).trim()}`);
    }
  }
  return {
    last: Math.max(...exits) - triggeredAt,
    firstFromSpawn: Math.min(...exits) - spawnedAt,
    lastFromSpawn: Math.max(...exits) - spawnedAt,
  };
}

/** Milliseconds from the port opening to the probing process's exit, and how many checks it took. */
interface ProbeCatch {
  latency: number;
  checks: number | undefined;
}

/** Probe trials of both kinds, shuffled together; the port opens at evenly spread phases after the prober starts. */
async function measureProbe(): Promise<Record<Prober, ProbeCatch[]>> {
  const kinds = Object.keys(PROBERS) as Prober[];
  // unitsync checks ever more rarely, the loop once a second: what either one costs depends on
  // when the port opens, so it opens at every point of the first second, alike for both kinds.
  const phases = Object.fromEntries(
    kinds.map((kind) => [kind, shuffle(Array.from({ length: PROBERS[kind].trials }, (_, i) => ((i + 0.5) * 1000) / PROBERS[kind].trials))]),
  ) as Record<Prober, number[]>;
  for (let i = 0; i < WARMUP; i++) await probeTrial("unitsync", `probe-warmup-${i}`, 0);
  const schedule = shuffle(kinds.flatMap((kind) => Array<Prober>(PROBERS[kind].trials).fill(kind)));
  const samples: Record<Prober, ProbeCatch[]> = { unitsync: [], devtcp: [] };
  for (const [n, kind] of schedule.entries()) {
    progress(`probe trial ${n + 1}/${schedule.length} (${kind})`);
    samples[kind].push(await probeTrial(kind, `probe-${kind}-${samples[kind].length}`, phases[kind][samples[kind].length]!));
  }
  return samples;
}

/**
 * One trial on a fresh unit and a free loopback port: the prober starts, `phaseMs` later
 * this process opens the port, and the clock runs from the moment `listen` returned (the
 * port is open from then on) to the prober's exit, both read here on one clock.
 */
async function probeTrial(kind: Prober, unit: string, phaseMs: number): Promise<ProbeCatch> {
  const port = freePort();
  await expectSuccess(spawn([BINARY, "start", unit], env), `start ${unit}`);
  const prober = spawn(
    kind === "unitsync"
      ? [BINARY, "complete", unit, "--when", `tcp:127.0.0.1:${port}`, "--timeout", "1m"]
      : ["bash", "-c", DEVTCP_LOOP, "devtcp-loop", BINARY, unit, String(port)],
    env,
  );
  // Not waiting for an event: this places the opening at a chosen point of the probers' schedule.
  await Bun.sleep(phaseMs);
  const listener = Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } });
  const openedAt = performance.now();
  try {
    const exitedAt = await within(prober.exitedAt, 5_000, `${kind} probe of ${unit}`);
    await expectSuccess(prober, `${kind} probe of ${unit}`);
    if (!prober.stdout.text.includes("Success")) throw new Error(`${kind} probe of ${unit} did not complete it: ${prober.stdout.text}`);
    const checks = /passed after (\d+) checks/.exec(await prober.stderr.done)?.[1];
    return { latency: exitedAt - openedAt, checks: checks === undefined ? undefined : Number(checks) };
  } finally {
    listener.stop(true);
  }
}

async function buildReport(
  wakeUp: Record<Waiter, WakeUp[]>,
  cli: { label: string; samples: number[] }[],
  cone: Record<ConeKind, ConeRelease[]>,
  probe: Record<Prober, ProbeCatch[]>,
) {
  const version = (await spawn([BINARY, "--version"], env).stdout.done).trim();
  const kinds = Object.keys(wakeUp) as Waiter[];
  const wake = Object.fromEntries(
    kinds.map((kind) => [kind, { ...summarize(wakeUp[kind].map((w) => w.fromExit)), fromSpawn: summarize(wakeUp[kind].map((w) => w.fromSpawn)) }]),
  ) as Record<Waiter, Summary & { fromSpawn: Summary }>;
  const cliSummaries = cli.map((c) => ({ label: c.label, ...summarize(c.samples) }));
  const coneKinds = Object.keys(cone) as ConeKind[];
  const coneSummaries = Object.fromEntries(
    coneKinds.map((kind) => [
      kind,
      {
        ...summarize(cone[kind].map((c) => c.last)),
        firstFromSpawn: summarize(cone[kind].map((c) => c.firstFromSpawn)),
        lastFromSpawn: summarize(cone[kind].map((c) => c.lastFromSpawn)),
      },
    ]),
  ) as Record<ConeKind, Summary & { firstFromSpawn: Summary; lastFromSpawn: Summary }>;
  const probers = Object.keys(probe) as Prober[];
  const probeSummaries = Object.fromEntries(
    probers.map((kind) => {
      const checks = probe[kind].flatMap((p) => (p.checks === undefined ? [] : [p.checks]));
      return [kind, { ...summarize(probe[kind].map((p) => p.latency)), checks: checks.length > 0 ? summarize(checks) : undefined }];
    }),
  ) as Record<Prober, Summary & { checks: Summary | undefined }>;
  const noop = cliSummaries.find((c) => c.label.startsWith("do-nothing"))!;
  const ping = cliSummaries.find((c) => c.label.includes("ping`"))!;
  const targets = [
    { target: "wake-up median < 15 ms", measured: ms(wake.unitsync.median), pass: wake.unitsync.median < 15 },
    {
      target: "failure cone: last of 99 starts out, median < 50 ms",
      measured: `${ms(coneSummaries.fail.median)} (p99 ${ms(coneSummaries.fail.p99)})`,
      pass: coneSummaries.fail.median < 50,
    },
    {
      target: "tcp probe: port open -> prober exits, median < 50 ms",
      measured: `${ms(probeSummaries.unitsync.median)} (p99 ${ms(probeSummaries.unitsync.p99)})`,
      pass: probeSummaries.unitsync.median < 50,
    },
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
    `## Failure propagation: triggering process exits -> last of 99 waiting starts exits`,
    ``,
    markdownTable(
      ["trigger", "trials", "median", "p99", "min", "max", "from trigger spawn: first out (median)", "last out (median)", "last out (p99)"],
      coneKinds.map((kind) => {
        const s = coneSummaries[kind];
        return [
          CONES[kind].label,
          String(s.n),
          ms(s.median),
          ms(s.p99),
          ms(s.min),
          ms(s.max),
          ms(s.firstFromSpawn.median),
          ms(s.lastFromSpawn.median),
          ms(s.lastFromSpawn.p99),
        ];
      }),
    ),
    ``,
    `## Readiness probe: port opens -> probing process exits`,
    ``,
    markdownTable(
      ["prober", "trials", "median", "p99", "min", "max", "checks (median, max)", "vs unitsync (median)"],
      probers.map((kind) => {
        const s = probeSummaries[kind];
        const ratio = s.median / probeSummaries.unitsync.median;
        const checks = s.checks ? `${s.checks.median}, ${s.checks.max}` : "-";
        return [PROBERS[kind].label, String(s.n), ms(s.median), ms(s.p99), ms(s.min), ms(s.max), checks, `${ratio.toFixed(ratio < 10 ? 1 : 0)}x`];
      }),
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
    failure_cone_ms: Object.fromEntries(coneKinds.map((k) => [k, { ...coneSummaries[k], samples: cone[k] }])),
    probe_ms: Object.fromEntries(probers.map((k) => [k, { ...probeSummaries[k], samples: probe[k] }])),
    targets,
  };
  return { markdown, json };
}

function signedMs(value: number): string {
  return `${value < 0 ? "-" : "+"}${ms(Math.abs(value))}`;
}
