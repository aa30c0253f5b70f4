/**
 * Readiness probe (issue 15, item 1): how late `complete --when tcp:...` and `--when file:...`
 * notice a port or a file that appears 0.1 to 10 s after the prober starts, against the bash
 * loops people write, polling every 20 ms; and the CPU each prober burns per second of waiting.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import {
  expectSuccess,
  freePort,
  markdownTable,
  ms,
  percentile,
  progress,
  shuffle,
  spawn,
  times,
  within,
  type Child,
  type SectionReport,
  type Suite,
} from "./lib.ts";

/** When the port or file appears, in ms after the prober's spawn. */
export const DELAYS = [100, 500, 1000, 2000, 3000, 10_000] as const;
// A round of unitsync runs one prober per delay at once (each trial's moment apart from the
// others'), so it lasts as long as its longest delay: the 10 s delay is in fewer rounds. A
// bash loop forks `sleep` 50 times a second (a third of a core), so six at once would slow
// each other: their trials run one at a time.
const FULL_ROUNDS = 2;
const SHORT_ROUNDS = 2;
const STAGGER_MS = 25;

// bash's /dev/tcp and `[ -e ]` every 20 ms, then the unit is completed as unitsync's probe does.
const DEVTCP_LOOP = `
bin=$1 unit=$2 port=$3
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.02; done
"$bin" complete "$unit"`;
const EXISTS_LOOP = `
bin=$1 unit=$2 file=$3
until [ -e "$file" ]; do sleep 0.02; done
"$bin" complete "$unit"`;

type Prober = "tcp" | "devtcp" | "file" | "exists";

const PROBERS: Record<Prober, string> = {
  tcp: "`unitsync complete --when tcp:...`",
  devtcp: "bash `/dev/tcp` every 20 ms, then `unitsync complete`",
  file: "`unitsync complete --when file:...`",
  exists: "bash `[ -e FILE ]` every 20 ms, then `unitsync complete`",
};

export interface ProbeCatch {
  kind: Prober;
  delay: number;
  /** ms from the port or file appearing to the prober's exit. */
  latency: number;
  /** CPU ms (its own and its children's) per second of waiting, read on the 10 s trials before the appearance. */
  cpuPerSecond?: number;
}

/** User + system CPU of a live process and its reaped children, in ms, from /proc/PID/stat. */
function cpuWithChildrenMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime, stime, cutime, cstime: fields 14 to 17, in ticks of 10 ms.
  return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) * 10;
}

export async function measureProbe(suite: Suite): Promise<ProbeCatch[]> {
  const kinds = Object.keys(PROBERS) as Prober[];
  const rounds = shuffle(
    kinds.flatMap((kind) => [
      ...Array<readonly number[]>(FULL_ROUNDS).fill(DELAYS),
      ...Array<readonly number[]>(SHORT_ROUNDS).fill(DELAYS.filter((d) => d < 10_000)),
    ].map((delays) => ({ kind, delays }))),
  );
  await round(suite, "tcp", [0], "warmup");
  const samples: ProbeCatch[] = [];
  for (const [n, { kind, delays }] of rounds.entries()) {
    progress(`probe round ${n + 1}/${rounds.length} (${kind})`);
    samples.push(...(await round(suite, kind, shuffle(delays), String(n))));
  }
  return samples;
}

/** One prober per delay, spawned STAGGER_MS apart; each one's port or file appears `delay` after its own spawn. */
async function round(suite: Suite, kind: Prober, delays: readonly number[], tag: string): Promise<ProbeCatch[]> {
  if (kind === "devtcp" || kind === "exists") {
    const out: ProbeCatch[] = [];
    for (const delay of delays) out.push(await trial(suite, kind, delay, `probe-${tag}-${kind}-${delay}`));
    return out;
  }
  return Promise.all(
    delays.map(async (delay, i) => {
      await Bun.sleep(i * STAGGER_MS);
      return trial(suite, kind, delay, `probe-${tag}-${kind}-${delay}`);
    }),
  );
}

async function trial({ binary, env, dir }: Suite, kind: Prober, delay: number, unit: string): Promise<ProbeCatch> {
  const port = freePort();
  const file = join(dir, `${unit}.ready`);
  await expectSuccess(spawn([binary, "start", unit], env), `start ${unit}`);
  const cmd: Record<Prober, string[]> = {
    tcp: [binary, "complete", unit, "--when", `tcp:127.0.0.1:${port}`, "--timeout", "1m"],
    file: [binary, "complete", unit, "--when", `file:${file}`, "--timeout", "1m"],
    devtcp: ["bash", "-c", DEVTCP_LOOP, "devtcp-loop", binary, unit, String(port)],
    exists: ["bash", "-c", EXISTS_LOOP, "exists-loop", binary, unit, file],
  };
  const spawnedAt = performance.now();
  const prober: Child = spawn(cmd[kind], env);
  let cpuPerSecond: number | undefined;
  // Not waiting for an event: this places the appearance at a chosen moment after the spawn.
  if (delay >= 10_000) {
    await Bun.sleep(500);
    const [from, fromCpu] = [performance.now(), cpuWithChildrenMs(prober.proc.pid)];
    await Bun.sleep(spawnedAt + delay - 100 - performance.now());
    cpuPerSecond = ((cpuWithChildrenMs(prober.proc.pid) - fromCpu) / (performance.now() - from)) * 1000;
  }
  await Bun.sleep(Math.max(0, spawnedAt + delay - performance.now()));
  const listener = kind === "tcp" || kind === "devtcp" ? Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }) : undefined;
  if (!listener) await Bun.write(file, "");
  const appearedAt = performance.now();
  try {
    const exitedAt = await within(prober.exitedAt, 5_000, `${kind} probe of ${unit}`);
    await expectSuccess(prober, `${kind} probe of ${unit}`);
    if (!prober.stdout.text.includes("Success")) throw new Error(`${kind} probe of ${unit} did not complete it: ${prober.stdout.text}`);
    return { kind, delay, latency: exitedAt - appearedAt, ...(cpuPerSecond === undefined ? {} : { cpuPerSecond }) };
  } finally {
    listener?.stop(true);
    rmSync(file, { force: true });
  }
}

export function reportProbe(samples: ProbeCatch[]): SectionReport {
  const kinds = Object.keys(PROBERS) as Prober[];
  const of = (kind: Prober, delay?: number) => samples.filter((s) => s.kind === kind && (delay === undefined || s.delay === delay));
  const median = (values: number[]) => percentile(values, 50);
  const cell = (kind: Prober, delay: number) => {
    const lat = of(kind, delay).map((s) => s.latency);
    return `${ms(median(lat))} / ${ms(percentile(lat, 95))}`;
  };
  const cpu = (kind: Prober) => median(of(kind).flatMap((s) => (s.cpuPerSecond === undefined ? [] : [s.cpuPerSecond])));
  const markdown = [
    `## Readiness probe: port or file appears -> probing process exits`,
    ``,
    `Median / p95 lateness by when it appears after the prober's spawn (trials: ${FULL_ROUNDS + SHORT_ROUNDS} each, ${FULL_ROUNDS} at 10 s); CPU per second of waiting from the 10 s trials.`,
    ``,
    markdownTable(
      ["prober", ...DELAYS.map((d) => `${d / 1000} s`), "CPU per s waiting", "median of medians vs baseline"],
      kinds.map((kind) => {
        const baseline: Prober = kind === "tcp" || kind === "devtcp" ? "devtcp" : "exists";
        const medians = (k: Prober) => median(DELAYS.map((d) => median(of(k, d).map((s) => s.latency))));
        return [PROBERS[kind], ...DELAYS.map((d) => cell(kind, d)), `${cpu(kind).toFixed(1)} ms`, times(medians(kind) / medians(baseline))];
      }),
    ),
  ].join("\n");
  const worst = (kind: Prober) => Math.max(...DELAYS.map((d) => median(of(kind, d).map((s) => s.latency))));
  const targets = (["tcp", "file"] as const).map((kind) => ({
    target: `${kind} probe: appears -> prober exits, median < 25 ms at every delay from 0.1 to 10 s`,
    measured: `worst median ${ms(worst(kind))}`,
    pass: worst(kind) < 25,
  }));
  return { markdown, json: samples, targets };
}
