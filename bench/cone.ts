/**
 * Failure propagation (beyond the six sections of issue 6, kept from the first benchmark):
 * how fast `fail` releases a cone of 99 waiting starts, against a mass release by `complete`.
 */
import {
  WAITING_LINE,
  expectSuccess,
  inBatches,
  markdownTable,
  ms,
  progress,
  shuffle,
  spawn,
  summarize,
  within,
  type SectionReport,
  type Suite,
  type Summary,
} from "./lib.ts";

// A root and 99 units downstream of it, each with a waiting start: 99 processes at once.
const CONE_UNITS = 100;
const CONE_TRIALS = 12;

type ConeKind = "fail" | "complete";

const CONES: Record<ConeKind, { label: string; exitCode: number }> = {
  fail: { label: "`fail` the root of a cone of 99: every start exits 3", exitCode: 3 },
  complete: { label: "`complete` the root of 99 direct dependents: every start exits 0 (baseline)", exitCode: 0 },
};

/**
 * When the waiters got out. `last`: from the triggering process's exit to the last waiter's
 * exit (the exits race, as in the wake-up figure). From the trigger's spawn: the first and
 * the last waiter's exit, which include the trigger's own start-up and 100 processes
 * waking and exiting at once.
 */
export interface ConeRelease {
  last: number;
  firstFromSpawn: number;
  lastFromSpawn: number;
}

/** Cone trials of both kinds, shuffled together, each on fresh unit names. */
export async function measureCone(suite: Suite): Promise<Record<ConeKind, ConeRelease[]>> {
  const schedule = shuffle((Object.keys(CONES) as ConeKind[]).flatMap((kind) => Array<ConeKind>(CONE_TRIALS).fill(kind)));
  const samples: Record<ConeKind, ConeRelease[]> = { fail: [], complete: [] };
  for (const [n, kind] of schedule.entries()) {
    progress(`failure cone trial ${n + 1}/${schedule.length} (${kind})`);
    samples[kind].push(await coneTrial(suite, kind, `cone-${kind}-${samples[kind].length}`));
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
async function coneTrial({ binary, env }: Suite, kind: ConeKind, prefix: string): Promise<ConeRelease> {
  const name = (i: number) => `${prefix}-${String(i).padStart(2, "0")}`;
  const units = Array.from({ length: CONE_UNITS - 1 }, (_, k) => k + 1);
  await expectSuccess(spawn([binary, "start", name(0)], env), "start of the root");
  await inBatches(units, 8, (i) => {
    const dependencies = kind === "fail" ? coneDependencies(i) : [0];
    return expectSuccess(spawn([binary, "want", name(i), ...dependencies.map(name)], env), `want ${name(i)}`);
  });
  const waiters = units.map((i) => spawn([binary, "start", name(i), "--timeout", "1m"], env));
  await Promise.all(waiters.map((waiter) => waiter.stdout.until(WAITING_LINE, 30_000)));

  const spawnedAt = performance.now();
  const trigger = spawn(kind === "fail" ? [binary, "fail", name(0), "--reason", "bench"] : [binary, "complete", name(0)], env);
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
export function reportCone(cone: Record<ConeKind, ConeRelease[]>): SectionReport {
  const kinds = Object.keys(cone) as ConeKind[];
  const summaries = Object.fromEntries(
    kinds.map((kind) => [
      kind,
      {
        ...summarize(cone[kind].map((c) => c.last)),
        firstFromSpawn: summarize(cone[kind].map((c) => c.firstFromSpawn)),
        lastFromSpawn: summarize(cone[kind].map((c) => c.lastFromSpawn)),
      },
    ]),
  ) as Record<ConeKind, Summary & { firstFromSpawn: Summary; lastFromSpawn: Summary }>;
  const markdown = [
    `## Failure propagation: triggering process exits -> last of 99 waiting starts exits`,
    ``,
    markdownTable(
      ["trigger", "trials", "median", "p99", "min", "max", "from trigger spawn: first out (median)", "last out (median)", "last out (p99)"],
      kinds.map((kind) => {
        const s = summaries[kind];
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
  ].join("\n");
  const targets = [
    {
      target: "failure cone: last of 99 starts out, median < 50 ms (from `fail` exit)",
      measured: `${ms(summaries.fail.median)} (p99 ${ms(summaries.fail.p99)})`,
      pass: summaries.fail.median < 50,
    },
  ];
  return { markdown, json: Object.fromEntries(kinds.map((k) => [k, { ...summaries[k], samples: cone[k] }])), targets };
}
