/**
 * Section 1, wake-up latency: how long after its dependency completes a waiting script
 * goes on, for `unitsync start` against the two 1-second pollers people use without it.
 */
import { join } from "node:path";
import {
  CODER_LOOP,
  MARKER_LOOP,
  WAITING_LINE,
  expectSuccess,
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

// 100 push trials so that p99 is not simply the maximum; the pollers cost a second each.
const PUSH_TRIALS = 100;
const POLL_TRIALS = 20;
const WARMUP = 5;

export type Waiter = "unitsync" | "coder" | "marker";

export const WAITERS: Record<Waiter, { label: string; trials: number }> = {
  unitsync: { label: "unitsync start (push)", trials: PUSH_TRIALS },
  coder: { label: "Coder-style poll: `status -o json` every 1 s", trials: POLL_TRIALS },
  marker: { label: "marker file: `while [ ! -f m ]; do sleep 1; done`", trials: POLL_TRIALS },
};

/** Milliseconds from the completing process's exit (or spawn) to the waiting process's exit. */
export interface WakeUp {
  fromExit: number;
  fromSpawn: number;
}

/** Runs every kind of waiter, trials shuffled together so noise hits all kinds alike. */
export async function measureWakeUp(suite: Suite): Promise<Record<Waiter, WakeUp[]>> {
  const kinds = Object.keys(WAITERS) as Waiter[];
  // Pollers wake at the first tick after the completion, so the completion has to land at
  // every point of the 1-s cycle: evenly spread phases, shuffled, drawn alike for every kind.
  const phases = Object.fromEntries(
    kinds.map((kind) => [kind, shuffle(Array.from({ length: WAITERS[kind].trials }, (_, i) => ((i + 0.5) * 1000) / WAITERS[kind].trials))]),
  ) as Record<Waiter, number[]>;
  for (let i = 0; i < WARMUP; i++) await wakeUpTrial(suite, "unitsync", `warmup-${i}`, 0);

  const schedule = shuffle(kinds.flatMap((kind) => Array<Waiter>(WAITERS[kind].trials).fill(kind)));
  const samples: Record<Waiter, WakeUp[]> = { unitsync: [], coder: [], marker: [] };
  for (const [n, kind] of schedule.entries()) {
    if (kind !== "unitsync" || n % 10 === 0) progress(`wake-up trial ${n + 1}/${schedule.length} (${kind})`);
    samples[kind].push(await wakeUpTrial(suite, kind, `${kind}-${samples[kind].length}`, phases[kind][samples[kind].length]!));
  }
  return samples;
}

/**
 * One trial on fresh unit names: `unit` wants `dependency`, the waiter blocks until its
 * waiting line is out, then `phaseMs` later the dependency completes.
 */
async function wakeUpTrial({ binary, dir, env }: Suite, kind: Waiter, unit: string, phaseMs: number): Promise<WakeUp> {
  const dependency = `${unit}-dep`;
  const marker = join(dir, `${dependency}.done`);
  if (kind !== "marker") {
    await expectSuccess(spawn([binary, "want", unit, dependency], env), "want");
    await expectSuccess(spawn([binary, "start", dependency], env), "start of the dependency");
  }
  const waiterCommand = {
    unitsync: [binary, "start", unit, "--timeout", "1m"],
    coder: ["bash", "-c", CODER_LOOP, "coder-loop", binary, unit],
    marker: ["bash", "-c", MARKER_LOOP, "marker-loop", marker],
  }[kind];
  const waiter = spawn(waiterCommand, env);
  await waiter.stdout.until(WAITING_LINE);
  // Not waiting for an event: this places the completion at a chosen point of the pollers' cycle.
  await Bun.sleep(phaseMs);
  const spawnedAt = performance.now();
  const completer = spawn(kind === "marker" ? ["touch", marker] : [binary, "complete", dependency], env);
  const [completedAt, wokeAt] = await within(Promise.all([completer.exitedAt, waiter.exitedAt]), 5_000, `wake-up of ${unit}`);
  await expectSuccess(completer, `completing ${dependency}`);
  await expectSuccess(waiter, `${kind} waiter for ${unit}`);
  if (kind === "unitsync" && !waiter.stdout.text.includes("finished waiting")) {
    throw new Error(`unitsync start did not wait: ${waiter.stdout.text}`);
  }
  return { fromExit: wokeAt - completedAt, fromSpawn: wokeAt - spawnedAt };
}

export function reportWakeUp(wakeUp: Record<Waiter, WakeUp[]>): SectionReport {
  const kinds = Object.keys(wakeUp) as Waiter[];
  const wake = Object.fromEntries(
    kinds.map((kind) => [kind, { fromSpawn: summarize(wakeUp[kind].map((w) => w.fromSpawn)), fromExit: summarize(wakeUp[kind].map((w) => w.fromExit)) }]),
  ) as Record<Waiter, { fromSpawn: Summary; fromExit: Summary }>;
  const ours = wake.unitsync.fromSpawn;
  const markdown = [
    `## 1. Wake-up latency: \`complete\` spawned -> waiting process exits`,
    ``,
    markdownTable(
      ["waiter", "trials", "median", "p99", "min", "max", "median vs unitsync", "p99 vs unitsync", "median from `complete` exit"],
      kinds.map((kind) => {
        const s = wake[kind].fromSpawn;
        return [WAITERS[kind].label, String(s.n), ms(s.median), ms(s.p99), ms(s.min), ms(s.max), times(s.median / ours.median), times(s.p99 / ours.p99), ms(wake[kind].fromExit.median)];
      }),
    ),
  ].join("\n");
  const targets = [
    { target: "wake-up median < 15 ms (from `complete` spawn)", measured: ms(ours.median), pass: ours.median < 15 },
    { target: "wake-up p99 < 50 ms (from `complete` spawn)", measured: ms(ours.p99), pass: ours.p99 < 50 },
  ];
  const json = Object.fromEntries(kinds.map((k) => [k, { from_spawn: wake[k].fromSpawn, from_exit: wake[k].fromExit, samples: wakeUp[k] }]));
  return { markdown, json, targets };
}
