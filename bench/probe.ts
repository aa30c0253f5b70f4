/**
 * Readiness probe (beyond the six sections of issue 6, kept from the first benchmark): how
 * soon `complete --when tcp:...` notices a port, against a 1-second /dev/tcp loop.
 */
import {
  expectSuccess,
  freePort,
  markdownTable,
  ms,
  progress,
  shuffle,
  spawn,
  summarize,
  times,
  within,
  type SectionReport,
  type Suite,
  type Summary,
} from "./lib.ts";

const PROBE_TRIALS = 24;
const DEVTCP_TRIALS = 6;
const WARMUP = 5;

// The loop people write to wait for a port when they have no probe: bash's /dev/tcp every
// second (nc -z where nc is installed), then the unit is completed as unitsync's probe does.
const DEVTCP_LOOP = `
bin=$1 unit=$2 port=$3
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 1; done
"$bin" complete "$unit"`;

type Prober = "unitsync" | "devtcp";

const PROBERS: Record<Prober, { label: string; trials: number }> = {
  unitsync: { label: "`unitsync complete --when tcp:...`", trials: PROBE_TRIALS },
  devtcp: { label: "bash `/dev/tcp` check every 1 s, then `unitsync complete`", trials: DEVTCP_TRIALS },
};

/** Milliseconds from the port opening to the probing process's exit, and how many checks it took. */
export interface ProbeCatch {
  latency: number;
  checks: number | undefined;
}

/** Probe trials of both kinds, shuffled together; the port opens at evenly spread phases after the prober starts. */
export async function measureProbe(suite: Suite): Promise<Record<Prober, ProbeCatch[]>> {
  const kinds = Object.keys(PROBERS) as Prober[];
  // unitsync checks ever more rarely, the loop once a second: what either one costs depends on
  // when the port opens, so it opens at every point of the first second, alike for both kinds.
  const phases = Object.fromEntries(
    kinds.map((kind) => [kind, shuffle(Array.from({ length: PROBERS[kind].trials }, (_, i) => ((i + 0.5) * 1000) / PROBERS[kind].trials))]),
  ) as Record<Prober, number[]>;
  for (let i = 0; i < WARMUP; i++) await probeTrial(suite, "unitsync", `probe-warmup-${i}`, 0);
  const schedule = shuffle(kinds.flatMap((kind) => Array<Prober>(PROBERS[kind].trials).fill(kind)));
  const samples: Record<Prober, ProbeCatch[]> = { unitsync: [], devtcp: [] };
  for (const [n, kind] of schedule.entries()) {
    progress(`probe trial ${n + 1}/${schedule.length} (${kind})`);
    samples[kind].push(await probeTrial(suite, kind, `probe-${kind}-${samples[kind].length}`, phases[kind][samples[kind].length]!));
  }
  return samples;
}

/**
 * One trial on a fresh unit and a free loopback port: the prober starts, `phaseMs` later
 * this process opens the port, and the clock runs from the moment `listen` returned (the
 * port is open from then on) to the prober's exit, both read here on one clock.
 */
async function probeTrial({ binary, env }: Suite, kind: Prober, unit: string, phaseMs: number): Promise<ProbeCatch> {
  const port = freePort();
  await expectSuccess(spawn([binary, "start", unit], env), `start ${unit}`);
  const prober = spawn(
    kind === "unitsync"
      ? [binary, "complete", unit, "--when", `tcp:127.0.0.1:${port}`, "--timeout", "1m"]
      : ["bash", "-c", DEVTCP_LOOP, "devtcp-loop", binary, unit, String(port)],
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
export function reportProbe(probe: Record<Prober, ProbeCatch[]>): SectionReport {
  const probers = Object.keys(probe) as Prober[];
  const summaries = Object.fromEntries(
    probers.map((kind) => {
      const checks = probe[kind].flatMap((p) => (p.checks === undefined ? [] : [p.checks]));
      return [kind, { ...summarize(probe[kind].map((p) => p.latency)), checks: checks.length > 0 ? summarize(checks) : undefined }];
    }),
  ) as Record<Prober, Summary & { checks: Summary | undefined }>;
  const ours = summaries.unitsync;
  const markdown = [
    `## Readiness probe: port opens -> probing process exits`,
    ``,
    markdownTable(
      ["prober", "trials", "median", "p99", "min", "max", "checks (median, max)", "median vs unitsync"],
      probers.map((kind) => {
        const s = summaries[kind];
        const checks = s.checks ? `${s.checks.median}, ${s.checks.max}` : "-";
        return [PROBERS[kind].label, String(s.n), ms(s.median), ms(s.p99), ms(s.min), ms(s.max), checks, times(s.median / ours.median)];
      }),
    ),
  ].join("\n");
  const targets = [
    {
      target: "tcp probe: port open -> prober exits, median < 50 ms",
      measured: `${ms(ours.median)} (p99 ${ms(ours.p99)})`,
      pass: ours.median < 50,
    },
  ];
  return { markdown, json: Object.fromEntries(probers.map((k) => [k, { ...summaries[k], samples: probe[k] }])), targets };
}
