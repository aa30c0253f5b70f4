import { usageError, VERSION, type TimelineResponse, type TimelineUnit } from "../protocol/index.ts";
import type { Palette } from "./color.ts";
import { formatDuration } from "./duration.ts";
import { describe, type Stats } from "./stats.ts";
import { formatTable } from "./text.ts";
import { truncate } from "./timeline.ts";

/** How one measured start-up ended; only `ok` runs go into the figures. */
export type RunOutcome = "ok" | "failed" | "deadlock" | "timeout";

const OUTCOMES: readonly RunOutcome[] = ["ok", "failed", "deadlock", "timeout"];

/** One measured start-up, as `--export-json` keeps it. */
export interface BenchRun {
  outcome: RunOutcome;
  /** Why a run was not `ok`: failed units with their reasons, scripts that did not exit 0, the deadlock. */
  problems: string[];
  /** From the first script's spawn until the last one exited. */
  wall_ms: number;
  /** The timeline's end: from the first registration until the last unit ended. */
  end_ms: number;
  critical_path: string[];
  units: TimelineUnit[];
}

/** Per unit, over the `ok` runs. */
export interface UnitFigures {
  unit_name: string;
  wait?: Stats;
  run?: Stats;
  end?: Stats;
  /** In how many `ok` runs the unit was on the critical path. */
  critical_runs: number;
}

export interface BenchSummary {
  runs: number;
  ok: number;
  /** Runs that were not `ok`, by outcome. */
  not_ok: Partial<Record<RunOutcome, number>>;
  /** The whole start-up: its timeline's end, and the wall time of the scripts. */
  startup?: { end: Stats; wall: Stats };
  units: UnitFigures[];
  /** The critical path seen in the most `ok` runs (ties: the one seen first). */
  critical_path?: { units: string[]; runs: number };
}

/** What `up --runs N --export-json FILE` writes and `compare` reads. */
export interface BenchFile {
  unitsync_benchmark: 1;
  version: string;
  scripts: string[];
  warmup: number;
  runs: BenchRun[];
  summary: BenchSummary;
}

/** The measured times of the benchmark's rows, in ms: per unit its wait, run and end; for the start-up its end and wall time. */
export type Measure = "wait" | "run" | "end" | "wall";

/** The row name of the whole start-up, apart from any unit's. */
export const STARTUP = "start-up";

/** A run's record from the timeline `up` took as it ended. */
export function benchRun(outcome: RunOutcome, problems: string[], wallMs: number, timeline: TimelineResponse): BenchRun {
  return {
    outcome,
    problems,
    wall_ms: wallMs,
    end_ms: timeline.end_ms,
    critical_path: timeline.critical_path.map((unit) => unit.unit_name),
    units: timeline.units,
  };
}

/** Every sample of one row, in the order of the `ok` runs. */
export interface Samples {
  wait: number[];
  run: number[];
  end: number[];
  /** Positions on the time axis, for the picture. */
  startRequested: number[];
  started: number[];
}

/**
 * Each unit's samples over the `ok` runs, units in the order their activity begins (by the
 * median over the runs), the waterfall's order; one pass over every unit of every run.
 */
export function unitSamples(runs: readonly BenchRun[]): Map<string, Samples> {
  const samples = new Map<string, Samples>();
  const begins = new Map<string, number[]>();
  for (const run of runs) {
    if (run.outcome !== "ok") continue;
    for (const unit of run.units) {
      let row = samples.get(unit.unit_name);
      if (!row) samples.set(unit.unit_name, (row = { wait: [], run: [], end: [], startRequested: [], started: [] }));
      if (unit.wait_ms !== undefined) row.wait.push(unit.wait_ms);
      if (unit.run_ms !== undefined) row.run.push(unit.run_ms);
      if (unit.ended_ms !== undefined) row.end.push(unit.ended_ms);
      if (unit.start_requested_ms !== undefined) row.startRequested.push(unit.start_requested_ms);
      if (unit.started_ms !== undefined) row.started.push(unit.started_ms);
      const begin = unit.start_requested_ms ?? unit.started_ms ?? unit.ended_ms ?? unit.registered_ms;
      const unitBegins = begins.get(unit.unit_name);
      if (unitBegins) unitBegins.push(begin);
      else begins.set(unit.unit_name, [begin]);
    }
  }
  const order = [...samples.keys()].map((name) => ({ name, begin: describe(begins.get(name)!)!.median }));
  order.sort((a, b) => a.begin - b.begin || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return new Map(order.map(({ name }) => [name, samples.get(name)!]));
}

/** The figures of a benchmark: per unit and for the whole start-up, over its `ok` runs. */
export function summarizeRuns(runs: readonly BenchRun[]): BenchSummary {
  const ok = runs.filter((run) => run.outcome === "ok");
  const notOk: Partial<Record<RunOutcome, number>> = {};
  for (const run of runs) if (run.outcome !== "ok") notOk[run.outcome] = (notOk[run.outcome] ?? 0) + 1;
  const critical = new Map<string, number>();
  const paths = new Map<string, { units: string[]; runs: number }>();
  for (const run of ok) {
    for (const name of new Set(run.critical_path)) critical.set(name, (critical.get(name) ?? 0) + 1);
    const key = JSON.stringify(run.critical_path);
    const seen = paths.get(key);
    if (seen) seen.runs++;
    else paths.set(key, { units: run.critical_path, runs: 1 });
  }
  const units = [...unitSamples(runs)].map(([name, samples]) => ({
    unit_name: name,
    wait: describe(samples.wait),
    run: describe(samples.run),
    end: describe(samples.end),
    critical_runs: critical.get(name) ?? 0,
  }));
  const end = describe(ok.map((run) => run.end_ms));
  const wall = describe(ok.map((run) => run.wall_ms));
  const path = [...paths.values()].reduce<{ units: string[]; runs: number } | undefined>((best, p) => (best && best.runs >= p.runs ? best : p), undefined);
  return {
    runs: runs.length,
    ok: ok.length,
    not_ok: notOk,
    startup: end && wall ? { end, wall } : undefined,
    units,
    critical_path: path,
  };
}

/** The whole benchmark as `--export-json` writes it. */
export function benchFile(scripts: readonly string[], warmup: number, runs: BenchRun[]): BenchFile {
  return { unitsync_benchmark: 1, version: VERSION, scripts: [...scripts], warmup, runs, summary: summarizeRuns(runs) };
}

/**
 * A unit that never waited this long waited for nothing (a start with no dependencies, or
 * with them done, takes a round trip of a millisecond or so): it gets no wait row.
 */
export const SHORTEST_WAIT_MS = 5;

/** Whether a unit's waits are worth a row: one of them at least `SHORTEST_WAIT_MS`. */
export function waited(waits: readonly number[]): boolean {
  return waits.some((wait) => wait >= SHORTEST_WAIT_MS);
}

/** The table's rows: the start-up's, then each unit's, one per measure it has. */
interface FigureRow {
  /** The whole start-up's row, or a unit's (whose name may be anything, `start-up` too). */
  whole: boolean;
  unit: string;
  measure: Measure;
  stats: Stats;
  critical?: string;
}

function figureRows(summary: BenchSummary): FigureRow[] {
  const rows: FigureRow[] = [];
  if (summary.startup) {
    rows.push({ whole: true, unit: STARTUP, measure: "end", stats: summary.startup.end });
    rows.push({ whole: true, unit: STARTUP, measure: "wall", stats: summary.startup.wall });
  }
  for (const unit of summary.units) {
    const critical = `${unit.critical_runs}/${summary.ok}`;
    const measures: Array<[Measure, Stats | undefined]> = [
      ["wait", unit.wait && waited([unit.wait.max]) ? unit.wait : undefined],
      ["run", unit.run],
      ["end", unit.end],
    ];
    let first = true;
    for (const [measure, stats] of measures) {
      if (!stats) continue;
      rows.push({ whole: false, unit: unit.unit_name, measure, stats, critical: first ? critical : undefined });
      first = false;
    }
  }
  return rows;
}

const HEADERS = ["unit", "time", "median", "mean ± σ", "min … max", "p95", "critical path"] as const;

/** A row's cells; its name is left blank when it continues the row before. */
function cells(row: FigureRow, before: FigureRow | undefined): string[] {
  const repeated = before !== undefined && before.whole === row.whole && before.unit === row.unit;
  const { stats } = row;
  return [
    repeated ? "" : truncate(row.unit, 24),
    row.measure,
    formatDuration(stats.median),
    `${formatDuration(stats.mean)} ± ${formatDuration(stats.stddev)}`,
    `${formatDuration(stats.min)} … ${formatDuration(stats.max)}`,
    formatDuration(stats.p95),
    row.critical ?? "",
  ];
}

/** `10 runs of 5 scripts after 1 warm-up run: 9 ok, 1 deadlock`: the heading of every form. */
export function benchHeading(file: BenchFile): string {
  const { summary } = file;
  const runs = summary.runs === 1 ? "1 run" : `${summary.runs} runs`;
  const scripts = file.scripts.length === 1 ? "1 script" : `${file.scripts.length} scripts`;
  const warmup = file.warmup === 0 ? "" : ` after ${file.warmup === 1 ? "1 warm-up run" : `${file.warmup} warm-up runs`}`;
  const outcomes = [`${summary.ok} ok`, ...OUTCOMES.flatMap((outcome) => (summary.not_ok[outcome] ? [`${summary.not_ok[outcome]} ${outcome}`] : []))];
  return `Start-up benchmark: ${runs} of ${scripts}${warmup}: ${outcomes.join(", ")}`;
}

/** The runs that are not in the figures, one line each: never dropped silently. */
function problemLines(file: BenchFile): string[] {
  const lines: string[] = [];
  file.runs.forEach((run, index) => {
    if (run.outcome === "ok") return;
    lines.push(`run ${index + 1}: ${run.outcome}${run.problems.length > 0 ? `: ${truncate(run.problems.join("; "), 200)}` : ""}`);
  });
  return lines;
}

/** `git-clone -> install-deps -> ai-agent (8/10 runs)`. */
function criticalPathLine(summary: BenchSummary): string | undefined {
  const path = summary.critical_path;
  return path && `${path.units.join(" -> ")} (${path.runs}/${summary.ok} runs)`;
}

/**
 * The benchmark as text for a terminal or a log: the heading, one row per unit and measure
 * (median, mean ± σ, min … max, p95, and how often the unit was on the critical path), the
 * most frequent critical path, and every run left out of the figures with its reason.
 */
export function formatBench(file: BenchFile, palette: Palette): string {
  const { summary } = file;
  const lines = [palette.bold(benchHeading(file)), ""];
  if (summary.ok === 0) lines.push("No run succeeded: there are no figures.");
  else {
    const rows = figureRows(summary);
    const body = rows.map((row, index) => cells(row, rows[index - 1]));
    // formatTable upper-cases headers, and σ would become Σ.
    const table = formatTable([...HEADERS], body).replace(/ +$/gm, "").replace("Σ", "σ");
    const [header, ...rest] = table.trimEnd().split("\n");
    lines.push(palette.bold(header!), ...rest, "");
    lines.push(`Over the ${summary.ok} ok runs; end: from the first unit's registration; wall: from the scripts' spawn to the last exit.`);
    lines.push(`Most frequent critical path: ${criticalPathLine(summary)}`);
  }
  const problems = problemLines(file);
  if (problems.length > 0) {
    lines.push("", palette.red(`Not in the figures: ${problems.length} of ${summary.runs} runs`));
    lines.push(...problems.map((line) => `  ${line}`));
  }
  return `${lines.join("\n")}\n`;
}

/** The same report in Markdown, for a CI job summary (`>> $GITHUB_STEP_SUMMARY`). */
export function formatBenchMarkdown(file: BenchFile): string {
  const { summary } = file;
  const lines = [`### ${benchHeading(file)}`, ""];
  if (summary.ok === 0) lines.push("No run succeeded: there are no figures.");
  else {
    const rows = figureRows(summary);
    lines.push(...markdownTable([...HEADERS], rows.map((row, index) => cells(row, rows[index - 1]))));
    lines.push("", `Most frequent critical path: ${criticalPathLine(summary)}`);
  }
  const problems = problemLines(file);
  if (problems.length > 0) lines.push("", `Not in the figures: ${problems.length} of ${summary.runs} runs`, "", ...problems.map((line) => `- ${line}`));
  return `${lines.join("\n")}\n`;
}

/** A Markdown table; `|` in a cell is escaped so it cannot open a column. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const escape = (cell: string) => cell.replace(/\|/g, "\\|");
  return [
    `| ${headers.map(escape).join(" | ")} |`,
    `| ${headers.map(() => "---").join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(escape).join(" | ")} |`),
  ];
}

/** `run 3/10: ok, start-up 1.02s` or `warm-up 1/1: deadlock`: one line of plain progress. */
export function progressLine(label: string, index: number, total: number, run: BenchRun): string {
  const what = run.outcome === "ok" ? `ok, start-up ${formatDuration(run.end_ms)}` : `${run.outcome}${run.problems[0] ? `: ${truncate(run.problems[0], 120)}` : ""}`;
  return `${label} ${index}/${total}: ${what}`;
}


/**
 * A benchmark file read back (`compare`, `--baseline`): its shape checked field by field,
 * so a wrong file is one clear usage error rather than a crash; the figures are recomputed
 * from the runs, never trusted from the file.
 */
export function readBenchFile(json: unknown, name: string): BenchFile {
  const fail = (what: string): never => {
    throw usageError(`${name} is not a unitsync benchmark (from "unitsync up --runs N --export-json FILE"): ${what}`);
  };
  if (!isObject(json) || json.unitsync_benchmark !== 1) fail('no "unitsync_benchmark": 1');
  const file = json as Record<string, unknown>;
  if (!Array.isArray(file.runs)) fail('"runs" is not a list');
  const runs = (file.runs as unknown[]).map((run, index): BenchRun => {
    const at = `runs[${index}]`;
    if (!isObject(run)) return fail(`${at} is not an object`);
    if (!OUTCOMES.includes(run.outcome as RunOutcome)) fail(`${at}.outcome is not one of ${OUTCOMES.join(", ")}`);
    for (const key of ["wall_ms", "end_ms"]) if (!isTime(run[key])) fail(`${at}.${key} is not a number of milliseconds`);
    if (!isStrings(run.critical_path)) fail(`${at}.critical_path is not a list of unit names`);
    if (!Array.isArray(run.units)) fail(`${at}.units is not a list`);
    const units = (run.units as unknown[]).map((unit, u): TimelineUnit => {
      if (!isObject(unit) || typeof unit.unit_name !== "string") return fail(`${at}.units[${u}] has no unit_name`);
      for (const key of ["registered_ms", "start_requested_ms", "started_ms", "ended_ms", "wait_ms", "run_ms"]) {
        if (unit[key] !== undefined && !isTime(unit[key])) fail(`${at}.units[${u}].${key} is not a number of milliseconds`);
      }
      return unit as unknown as TimelineUnit;
    });
    return {
      outcome: run.outcome as RunOutcome,
      problems: isStrings(run.problems) ? run.problems : [],
      wall_ms: run.wall_ms as number,
      end_ms: run.end_ms as number,
      critical_path: run.critical_path as string[],
      units,
    };
  });
  const scripts = isStrings(file.scripts) ? file.scripts : [];
  const warmup = typeof file.warmup === "number" ? file.warmup : 0;
  return { unitsync_benchmark: 1, version: String(file.version ?? "unknown"), scripts, warmup, runs, summary: summarizeRuns(runs) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isTime(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0;
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}
