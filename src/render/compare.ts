import type { Palette } from "./color.ts";
import { formatDuration } from "./duration.ts";
import { markdownTable, STARTUP, unitSamples, waited, type BenchFile, type Measure } from "./bench.ts";
import { describe, mannWhitney, type Stats } from "./stats.ts";
import { truncate } from "./timeline.ts";

/** A difference counts when its two-sided p-value is below this. */
export const ALPHA = 0.05;

export type Verdict = "slower" | "faster" | "no significant change" | "only in base" | "only in new";

/** One row of a comparison: a unit's (or the start-up's) measure in both benchmarks. */
export interface Change {
  /** The whole start-up's row, or a unit's (whose name may be anything, `start-up` too). */
  scope: "start-up" | "unit";
  unit_name: string;
  measure: Measure;
  base?: Stats;
  new?: Stats;
  /** (new median - base median) / base median, as a percentage; absent when either is missing or the base is 0. */
  change_percent?: number;
  /** Mann-Whitney U's two-sided p-value over the two samples. */
  p?: number;
  verdict: Verdict;
}

export interface Comparison {
  base: { runs: number; ok: number };
  new: { runs: number; ok: number };
  alpha: number;
  changes: Change[];
}

/**
 * Compares two benchmarks row by row (the start-up's end and wall time, then each unit's
 * wait, run and end), over the `ok` runs of each: the change of the median, and whether the
 * difference is significant by a two-sided Mann-Whitney U test at `ALPHA`.
 */
export function compareBenchmarks(base: BenchFile, next: BenchFile): Comparison {
  type Row = { scope: Change["scope"]; unit: string; measure: Measure; base: number[]; new: number[] };
  const rows = new Map<string, Row>();
  const add = (scope: Change["scope"], unit: string, measure: Measure, side: "base" | "new", values: number[]) => {
    const key = `${scope}\u0000${measure}\u0000${unit}`;
    let row = rows.get(key);
    if (!row) rows.set(key, (row = { scope, unit, measure, base: [], new: [] }));
    row[side] = values;
  };
  for (const [side, file] of [["base", base], ["new", next]] as const) {
    const ok = file.runs.filter((run) => run.outcome === "ok");
    add("start-up", STARTUP, "end", side, ok.map((run) => run.end_ms));
    add("start-up", STARTUP, "wall", side, ok.map((run) => run.wall_ms));
  }
  // Units in the new benchmark's order, then those only the base has.
  const order = [...unitSamples(next.runs), ...unitSamples(base.runs)];
  const baseSamples = unitSamples(base.runs);
  const newSamples = unitSamples(next.runs);
  for (const [unit] of order) {
    for (const measure of ["wait", "run", "end"] as const) {
      const before = baseSamples.get(unit)?.[measure] ?? [];
      const after = newSamples.get(unit)?.[measure] ?? [];
      // A measure neither side has (a unit that never waited) is no row.
      if (before.length === 0 && after.length === 0) continue;
      if (measure === "wait" && !waited(before) && !waited(after)) continue;
      add("unit", unit, measure, "base", before);
      add("unit", unit, measure, "new", after);
    }
  }
  const changes = [...rows.values()].map((row) => changeOf(row.scope, row.unit, row.measure, row.base, row.new));
  const count = (file: BenchFile) => ({ runs: file.runs.length, ok: file.runs.filter((run) => run.outcome === "ok").length });
  return { base: count(base), new: count(next), alpha: ALPHA, changes };
}

function changeOf(scope: Change["scope"], unit: string, measure: Measure, before: number[], after: number[]): Change {
  const base = describe(before);
  const next = describe(after);
  if (!base || !next) return { scope, unit_name: unit, measure, base, new: next, verdict: base ? "only in base" : "only in new" };
  const test = mannWhitney(after, before)!;
  const change = base.median === 0 ? undefined : ((next.median - base.median) / base.median) * 100;
  const significant = test.p < ALPHA && next.median !== base.median;
  const verdict: Verdict = !significant ? "no significant change" : next.median > base.median ? "slower" : "faster";
  return { scope, unit_name: unit, measure, base, new: next, change_percent: change, p: test.p, verdict };
}

/**
 * The rows that fail a CI gate of `--fail-if-slower PCT`: the whole start-up (its end or its
 * wall time) slower by more than `percent`, and significantly so. A slower unit off the
 * critical path does not slow the start-up, so units alone never fail the gate.
 */
export function slowerThan(comparison: Comparison, percent: number): Change[] {
  return comparison.changes.filter(
    (change) => change.scope === "start-up" && change.verdict === "slower" && (change.change_percent ?? Infinity) > percent,
  );
}

/**
 * Why a CI gate of `--fail-if-slower PCT` fails, or `undefined` when it holds: the start-up
 * significantly slower by more than PCT, or no ok run on the new side (a start-up that
 * no longer succeeds is not "not slower").
 */
export function gateFailure(comparison: Comparison, percent: number): string | undefined {
  if (comparison.new.ok === 0) return "the new benchmark has no ok run to compare: the start-up failed in every run";
  const slower = slowerThan(comparison, percent);
  if (slower.length === 0) return undefined;
  const change = Math.max(...slower.map((row) => row.change_percent ?? Infinity));
  return `the start-up is slower than the base by more than ${percent}% (${change.toFixed(1)}%), and significantly`;
}

const HEADERS = ["unit", "time", "base", "new", "change", "p", ""] as const;

function cells(change: Change, repeated: boolean): string[] {
  const median = (stats: Stats | undefined) => (stats ? formatDuration(stats.median) : "-");
  const percent = change.change_percent === undefined ? "-" : `${change.change_percent >= 0 ? "+" : ""}${change.change_percent.toFixed(1)}%`;
  return [
    repeated ? "" : truncate(change.unit_name, 24),
    change.measure,
    median(change.base),
    median(change.new),
    percent,
    change.p === undefined ? "-" : formatP(change.p),
    change.verdict === "no significant change" ? "" : change.verdict,
  ];
}

/** Whether a row continues the one before (its name cell is left blank). */
function sameRow(before: Change | undefined, change: Change): boolean {
  return before !== undefined && before.scope === change.scope && before.unit_name === change.unit_name;
}

/** `0.008`, `<0.001`: enough digits to read against 0.05. */
export function formatP(p: number): string {
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

function heading(comparison: Comparison): string {
  const side = ({ runs, ok }: { runs: number; ok: number }) => (ok === runs ? `${runs} runs` : `${ok} ok of ${runs} runs`);
  return `Start-up comparison: base ${side(comparison.base)}, new ${side(comparison.new)}; medians, Mann-Whitney U (two-sided), significant below p = ${comparison.alpha}`;
}

function warnings(comparison: Comparison): string[] {
  // With 3 runs a side, the smallest exact two-sided p is 0.1: nothing can be significant.
  const fewest = Math.min(comparison.base.ok, comparison.new.ok);
  return fewest < 4 ? [`With ${fewest} ok run${fewest === 1 ? "" : "s"} on one side no difference can be significant: use --runs 5 or more.`] : [];
}

/** The comparison as text: one row per unit and measure, slower rows marked (in red on a terminal). */
export function formatComparison(comparison: Comparison, palette: Palette): string {
  const rows = comparison.changes.map((change, index) => cells(change, sameRow(comparison.changes[index - 1], change)));
  const widths = HEADERS.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]!.length)));
  const line = (row: readonly string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join("  ").trimEnd();
  const lines = [palette.bold(heading(comparison)), "", palette.bold(line(HEADERS.map((h) => h.toUpperCase())))];
  comparison.changes.forEach((change, index) => {
    const text = line(rows[index]!);
    lines.push(change.verdict === "slower" ? palette.red(text) : change.verdict === "faster" ? palette.green(text) : text);
  });
  const notes = warnings(comparison);
  if (notes.length > 0) lines.push("", ...notes);
  return `${lines.join("\n")}\n`;
}

/** The comparison in Markdown, for a CI job summary; slower rows in bold. */
export function formatComparisonMarkdown(comparison: Comparison): string {
  const rows = comparison.changes.map((change, index) => {
    const row = cells(change, sameRow(comparison.changes[index - 1], change));
    return change.verdict === "slower" ? row.map((cell) => (cell === "" ? cell : `**${cell}**`)) : row;
  });
  const lines = [`### ${heading(comparison)}`, "", ...markdownTable([...HEADERS], rows)];
  const notes = warnings(comparison);
  if (notes.length > 0) lines.push("", ...notes);
  return `${lines.join("\n")}\n`;
}
