// The benchmark's figures, text and comparison on fixed runs, with values worked out by hand.
import { expect, test } from "bun:test";
import type { TimelineUnit } from "../../src/protocol/index.ts";
import { benchFile, formatBench, readBenchFile, summarizeRuns, type BenchRun } from "../../src/render/bench.ts";
import { paletteFor } from "../../src/render/color.ts";
import { compareBenchmarks, formatComparison, gateFailure, slowerThan } from "../../src/render/compare.ts";

const plain = paletteFor({ isTTY: false });

/** A unit that waited from `requested` and ran from `started` to `ended`. */
function unit(name: string, requested: number, started: number, ended: number): TimelineUnit {
  return {
    unit_name: name,
    status: "completed",
    registered_ms: 0,
    start_requested_ms: requested,
    started_ms: started,
    ended_ms: ended,
    wait_ms: started - requested,
    run_ms: ended - started,
    in_progress: false,
  };
}

/** clone runs 0..c; install waits for it and runs c..c+i; lint runs 0..l on its own. */
function run(c: number, i: number, l: number, outcome: BenchRun["outcome"] = "ok", lint = "lint"): BenchRun {
  const end = Math.max(c + i, l);
  return {
    outcome,
    problems: outcome === "ok" ? [] : ["clone failed: exit code 1"],
    wall_ms: end + 20,
    end_ms: end,
    critical_path: l > c + i ? [lint] : ["clone", "install"],
    units: [unit("clone", 0, 0, c), unit(lint, 0, 0, l), unit("install", 0, c, c + i)],
  };
}

const RUNS = [run(100, 200, 50), run(120, 210, 400), run(110, 191, 60), run(90, 205, 70), run(130, 230, 40), run(5, 0, 0, "failed")];

test("figures per unit over the ok runs only, how often each unit was critical, and the most frequent path", () => {
  const summary = summarizeRuns(RUNS);
  expect({
    counts: [summary.runs, summary.ok, summary.not_ok],
    order: summary.units.map((u) => u.unit_name),
    critical: summary.units.map((u) => u.critical_runs),
    path: summary.critical_path,
    cloneRun: summary.units[0]!.run,
    installWaitMedian: summary.units.find((u) => u.unit_name === "install")!.wait!.median,
    startupEnd: [summary.startup!.end.median, summary.startup!.end.min, summary.startup!.end.max],
  }).toEqual({
    counts: [6, 5, { failed: 1 }],
    // All three begin at 0 (install asks to start at once, then waits): name order.
    order: ["clone", "install", "lint"],
    critical: [4, 4, 1],
    path: { units: ["clone", "install"], runs: 4 },
    cloneRun: { n: 5, median: 110, mean: 110, stddev: Math.sqrt(250), min: 90, max: 130, p95: 128 },
    installWaitMedian: 110,
    // ends: 300, 400, 301, 295, 360
    startupEnd: [301, 295, 400],
  });
});

test("the text report: one row per unit and measure, the path, and the run left out with its reason", () => {
  expect(formatBench(benchFile(["a.sh", "b.sh"], 1, RUNS), plain).split("\n")).toEqual([
    "Start-up benchmark: 6 runs of 2 scripts after 1 warm-up run: 5 ok, 1 failed",
    "",
    "UNIT      TIME  MEDIAN  MEAN ± σ       MIN … MAX      P95    CRITICAL PATH",
    "start-up  end   301ms   331ms ± 47ms   295ms … 400ms  392ms",
    "          wall  321ms   351ms ± 47ms   315ms … 420ms  412ms",
    "clone     run   110ms   110ms ± 16ms   90ms … 130ms   128ms  4/5",
    "          end   110ms   110ms ± 16ms   90ms … 130ms   128ms",
    "install   wait  110ms   110ms ± 16ms   90ms … 130ms   128ms  4/5",
    "          run   205ms   207ms ± 15ms   191ms … 230ms  226ms",
    "          end   301ms   317ms ± 28ms   295ms … 360ms  354ms",
    "lint      run   60ms    124ms ± 155ms  40ms … 400ms   334ms  1/5",
    "          end   60ms    124ms ± 155ms  40ms … 400ms   334ms",
    "",
    "Over the 5 ok runs; end: from the first unit's registration; wall: from the scripts' spawn to the last exit.",
    "Most frequent critical path: clone -> install (4/5 runs)",
    "",
    "Not in the figures: 1 of 6 runs",
    "  run 6: failed: clone failed: exit code 1",
    "",
  ]);
});

test("a benchmark file reads back to the same runs and figures", () => {
  const file = benchFile(["a.sh"], 0, RUNS);
  expect(readBenchFile(JSON.parse(JSON.stringify(file)), "b.json")).toEqual(file);
});

test("compare: every new run slower than every base run is significant (exact p = 2/252), and the gate fires only beyond PCT", () => {
  const base = benchFile(["a.sh"], 0, RUNS.slice(0, 5));
  const slower = benchFile(["a.sh"], 0, RUNS.slice(0, 5).map((r) => run(r.units[0]!.run_ms!, r.units[2]!.run_ms! + 500, 10)));
  const comparison = compareBenchmarks(base, slower);
  const row = (name: string, measure: string) => comparison.changes.find((c) => c.unit_name === name && c.measure === measure)!;
  expect({
    startup: [row("start-up", "end").change_percent, row("start-up", "end").p, row("start-up", "end").verdict],
    clone: row("clone", "run").verdict,
    lint: [row("lint", "run").verdict, row("lint", "run").change_percent],
    gate: [slowerThan(comparison, 100).map((c) => c.measure), slowerThan(comparison, 200).length],
  }).toEqual({
    // start-up end: median 301ms -> 801ms, every new run slower than every base run.
    startup: [(500 / 301) * 100, 2 / 252, "slower"],
    clone: "no significant change",
    lint: ["faster", (10 - 60) / 60 * 100],
    gate: [["end", "wall"], 0],
  });
  expect(formatComparison(comparison, plain).split("\n").slice(0, 4)).toEqual([
    "Start-up comparison: base 5 runs, new 5 runs; medians, Mann-Whitney U (two-sided), significant below p = 0.05",
    "",
    "UNIT      TIME  BASE   NEW    CHANGE   P",
    "start-up  end   301ms  801ms  +166.1%  0.008  slower",
  ]);
});

test("the gate fails when the new benchmark has no ok run: a start-up that fails is not 'not slower'", () => {
  const base = benchFile(["a.sh"], 0, RUNS.slice(0, 5));
  const broken = benchFile(["a.sh"], 0, [run(5, 0, 0, "failed"), run(5, 0, 0, "deadlock")]);
  expect([gateFailure(compareBenchmarks(base, broken), 10), gateFailure(compareBenchmarks(base, base), 0)]).toEqual([
    "the new benchmark has no ok run to compare: the start-up failed in every run",
    undefined,
  ]);
});

test("a unit named start-up has rows of its own, and getting slower off the critical path does not fail the gate", () => {
  const clones = [100, 120, 110, 90, 130];
  const base = benchFile(["a.sh"], 0, clones.map((c, k) => run(c, 200, 40 + k, "ok", "start-up")));
  const next = benchFile(["a.sh"], 0, clones.map((c, k) => run(c, 200, 240 + k, "ok", "start-up")));
  const comparison = compareBenchmarks(base, next);
  expect({
    rows: comparison.changes.filter((c) => c.unit_name === "start-up").map((c) => `${c.scope} ${c.measure} ${c.verdict}`),
    gate: gateFailure(comparison, 10),
  }).toEqual({
    rows: [
      "start-up end no significant change",
      "start-up wall no significant change",
      "unit run slower",
      "unit end slower",
    ],
    gate: undefined,
  });
});
