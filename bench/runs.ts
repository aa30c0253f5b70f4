/**
 * The start-up benchmark's own costs (issue 16, part 1), each set against a baseline measured
 * in the same run:
 * 1. Scaling of the report: the figures, the text, the picture and a comparison made from
 *    synthetic runs of U units times R runs, doubling each; the time should double with the
 *    input (U x R), never more. Baseline: 10 units x 10 runs.
 * 2. One benchmark run against one plain `up`: `up --runs 10` on a two-script workspace,
 *    its wall time divided by 10, against `up` of the same workspace once (trials shuffled).
 * Usage: `bun run bench/runs.ts [binary]`.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { TimelineUnit } from "../src/protocol/index.ts";
import { benchFile, formatBench, type BenchRun } from "../src/render/bench.ts";
import { benchSvg } from "../src/render/bench-svg.ts";
import { paletteFor } from "../src/render/color.ts";
import { compareBenchmarks, formatComparison } from "../src/render/compare.ts";
import { markdownTable, median, ms, progress, shuffle, times, writeReport } from "./lib.ts";

const ROOT = join(import.meta.dir, "..");
const BINARY = resolve(process.argv[2] ?? join(ROOT, "dist", "unitsync"));
const plain = paletteFor({ isTTY: false });

/** Runs of a chain of `units` units, each waiting for the one before; timings jittered. */
function syntheticRuns(units: number, runs: number, slowdown = 1): BenchRun[] {
  return Array.from({ length: runs }, () => {
    let at = 0;
    const timeline: TimelineUnit[] = [];
    for (let u = 0; u < units; u++) {
      const ran = (10 + Math.random() * 5) * slowdown;
      timeline.push({
        unit_name: `unit-${u}`,
        status: "completed",
        registered_ms: 0,
        start_requested_ms: 0,
        started_ms: at,
        ended_ms: at + ran,
        wait_ms: at,
        run_ms: ran,
        in_progress: false,
      });
      at += ran;
    }
    return { outcome: "ok", problems: [], wall_ms: at + 20, end_ms: at, critical_path: timeline.map((u) => u.unit_name), units: timeline };
  });
}

/** Median ms of `trials` calls of the whole report for U units x R runs. */
function reportCost(units: number, runs: number, trials: number): number {
  const base = benchFile(["a.sh"], 0, syntheticRuns(units, runs));
  const next = benchFile(["a.sh"], 0, syntheticRuns(units, runs, 1.1));
  const samples: number[] = [];
  for (let trial = 0; trial < trials; trial++) {
    const began = performance.now();
    formatBench(benchFile(["a.sh"], 0, next.runs), plain);
    benchSvg(next);
    formatComparison(compareBenchmarks(base, next), plain);
    samples.push(performance.now() - began);
  }
  return median(samples);
}

async function wallOf(args: string[]): Promise<number> {
  const began = performance.now();
  const child = Bun.spawn([BINARY, ...args], { stdout: "ignore", stderr: "ignore", env: { ...process.env, NO_COLOR: "1" } as Record<string, string> });
  const exitCode = await child.exited;
  if (exitCode !== 0) throw new Error(`unitsync ${args.join(" ")} exited ${exitCode}`);
  return performance.now() - began;
}

const sizes: Array<[number, number]> = [
  [10, 10],
  [20, 10],
  [10, 20],
  [40, 10],
  [10, 40],
  [40, 40],
  [100, 50],
];
// A whole pass first: the JIT warms up, and each pair of sizes makes its exact U distribution once.
for (const [units, runs] of sizes) reportCost(units, runs, 3);
const scaling: Array<{ units: number; runs: number; median: number }> = [];
for (const [units, runs] of sizes) {
  progress(`report: ${units} units x ${runs} runs`);
  scaling.push({ units, runs, median: reportCost(units, runs, 21) });
}
const baseline = scaling[0]!;

const dir = mkdtempSync(join(tmpdir(), "unitsync-bench-runs-"));
try {
  const ws = join(dir, "ws");
  mkdirSync(ws);
  for (const [file, body] of Object.entries({
    "10-clone.sh": "unitsync run clone -- true",
    "20-install.sh": "unitsync run install --after clone -- true",
  })) {
    writeFileSync(join(ws, file), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`);
    chmodSync(join(ws, file), 0o755);
  }
  const RUNS = 10;
  const kinds = shuffle([...Array(5).fill("bench"), ...Array(5).fill("once")] as Array<"bench" | "once">);
  const perRun: number[] = [];
  const once: number[] = [];
  for (const [index, kind] of kinds.entries()) {
    progress(`up: trial ${index + 1}/${kinds.length} (${kind})`);
    if (kind === "bench") perRun.push((await wallOf(["up", "--runs", String(RUNS), ws])) / RUNS);
    else once.push(await wallOf(["up", ws]));
  }

  const markdown = [
    "### The report's cost as units x runs grow (median of 21, after a warm-up pass; baseline 10 units x 10 runs)",
    "",
    markdownTable(
      ["units x runs", "input vs baseline", "median", "time vs baseline"],
      scaling.map((s) => [`${s.units} x ${s.runs}`, times((s.units * s.runs) / (baseline.units * baseline.runs)), ms(s.median), times(s.median / baseline.median)]),
    ),
    "",
    `### One benchmark run against one plain up (two scripts; medians of 5 trials, shuffled)`,
    "",
    markdownTable(
      ["figure", "median", "ratio"],
      [
        ["`unitsync up ws` once (baseline)", ms(median(once)), "1.00x"],
        [`\`unitsync up --runs ${RUNS} ws\`, per run`, ms(median(perRun)), times(median(perRun) / median(once))],
      ],
    ),
  ].join("\n");
  await writeReport("runs", { markdown, json: { scaling, once, perRun } });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
