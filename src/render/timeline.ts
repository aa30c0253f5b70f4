import { isTerminal } from "./terminal.ts";
import type { TimelineResponse, TimelineUnit } from "../protocol/index.ts";
import { statusStyle, type Palette } from "./color.ts";
import { formatDuration } from "./duration.ts";

/** A tick step of 1, 2 or 5 times a power of ten that puts at most `maxTicks` ticks on `span`. */
export function tickStep(span: number, maxTicks: number): number {
  const rough = span / Math.max(1, maxTicks);
  const power = 10 ** Math.floor(Math.log10(Math.max(rough, 1e-3)));
  for (const factor of [1, 2, 5, 10]) {
    if (factor * power >= rough) return factor * power;
  }
  return 10 * power;
}

/** An axis label: `0`, `250ms`, `1.5s`, `2m`, `2m30s`. */
export function formatTick(ms: number): string {
  if (ms === 0) return "0";
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(2))}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}

/** When a link of the critical path started (or ended, for one that never started). */
export function startOf(unit: TimelineUnit): number {
  return unit.started_ms ?? unit.ended_ms ?? unit.start_requested_ms ?? unit.registered_ms;
}

/** `4 units, 4.21s` plus what is still going on, what was stopped and what nobody registered, for headings. */
export function summarize(timeline: TimelineResponse): string {
  const count = timeline.units.length === 1 ? "1 unit" : `${timeline.units.length} units`;
  const running = timeline.units.filter((u) => u.in_progress && u.started_ms !== undefined).length;
  const waiting = timeline.units.filter((u) => u.in_progress && u.started_ms === undefined).length;
  const parts = [`${count} in ${formatDuration(timeline.end_ms)}`];
  if (running + waiting > 0) parts.push(`still in progress: ${running} running, ${waiting} waiting`);
  const stopped = timeline.units.filter((u) => u.stopped_ms !== undefined).length;
  if (stopped > 0) parts.push(`stopped: ${stopped}`);
  const missing = timeline.missing ?? [];
  if (missing.length > 0) parts.push(`not registered: ${missing.map((m) => m.unit_name).join(", ")}`);
  return parts.join("; ");
}

/** `gti-clone (not registered) -> ai-agent`: the critical path's names, from what it waited for in vain. */
export function criticalChain(timeline: TimelineResponse, limit = Infinity): string[] {
  const names = timeline.critical_path.map((u) => truncate(u.unit_name, limit));
  const blockedBy = timeline.critical_path_blocked_by;
  return blockedBy === undefined ? names : [`${truncate(blockedBy, limit)} (not registered)`, ...names];
}

/** `waited 1.37s, stopped while waiting`: what a unit did and how it is now, for the critical path. */
function stateOf(unit: TimelineUnit): string | undefined {
  const doing = unit.started_ms === undefined ? "waiting" : "running";
  if (unit.in_progress) return `still ${doing}`;
  return unit.stopped_ms === undefined ? undefined : `stopped while ${doing}`;
}

/** A wait this short is noise, not a wait: it is neither drawn nor mentioned. */
const SHORTEST_WAIT_MS = 0.5;

/** `waited 1.2s`, `ran 300ms`: what a unit spent so far, shared by the text and the picture. */
export function timeSpent(unit: TimelineUnit): string[] {
  const parts = [];
  if (unit.wait_ms !== undefined && unit.wait_ms >= SHORTEST_WAIT_MS) parts.push(`waited ${formatDuration(unit.wait_ms)}`);
  if (unit.run_ms !== undefined) parts.push(`ran ${formatDuration(unit.run_ms)}`);
  return parts;
}

/** The width for a timeline on stdout: a terminal's own (within reason), else the 80 columns of a log. */
export function outputColumns(): number {
  // Asked of the descriptor first: `process.stdout` costs its stream (see isTerminal) and is built only for a terminal.
  return isTerminal(1) ? Math.min(160, Math.max(60, process.stdout.columns ?? 80)) : 80;
}

const NAME_LIMIT = 24;
const GLYPH = { wait: "░", run: "█", failed: "✗", ongoing: "▸", ended: "●", stopped: "■" } as const;

/**
 * The start-up as a waterfall of text bars, one unit per line (`░` waiting, `█` running),
 * then the critical path. Fits `width` columns; colour comes from `palette` alone.
 */
export function formatTimeline(timeline: TimelineResponse, palette: Palette, width = 80): string {
  if (timeline.units.length === 0) return "No unit has waited, run or ended yet\n";
  const critical = new Set(timeline.critical_path.map((u) => u.unit_name));
  const missing = timeline.missing ?? [];
  const names = [...timeline.units, ...missing].map((u) => truncate(u.unit_name, NAME_LIMIT));
  const nameWidth = Math.max(4, ...names.map((n) => [...n].length));
  const prefix = 2 + nameWidth + 2 + 7 + 2 + 7 + 2;
  const barWidth = Math.max(10, width - prefix);
  const span = Math.max(timeline.end_ms, 1e-3);
  const column = (ms: number) => Math.min(barWidth - 1, Math.max(0, Math.floor((ms / span) * barWidth)));

  const lines = [`Start-up timeline: ${summarize(timeline)}`, ""];
  const header = `  ${pad("UNIT", nameWidth)}  ${"WAIT".padStart(7)}  ${"RUN".padStart(7)}  `;
  lines.push(palette.bold(header) + axis(span, barWidth));
  timeline.units.forEach((unit, index) => {
    const mark = critical.has(unit.unit_name) ? palette.yellow("*") : " ";
    const name = pad(names[index]!, nameWidth);
    const wait = unit.wait_ms === undefined || unit.wait_ms < SHORTEST_WAIT_MS ? "-" : formatDuration(unit.wait_ms);
    const run = unit.run_ms === undefined ? "-" : formatDuration(unit.run_ms);
    const cells = bars(unit, column, span / barWidth / 2, palette);
    const styledName = critical.has(unit.unit_name) ? palette.bold(name) : name;
    lines.push(`${mark} ${styledName}  ${wait.padStart(7)}  ${run.padStart(7)}  ${cells}`.trimEnd());
  });
  // A name nobody registered never waited or ran, but what waited for it is the story.
  missing.forEach((unit, index) => {
    const onPath = unit.unit_name === timeline.critical_path_blocked_by;
    const name = pad(names[timeline.units.length + index]!, nameWidth);
    const note = truncate(`not registered, needed by ${unit.needed_by.join(", ")}`, barWidth);
    const row = `${onPath ? palette.yellow("*") : " "} ${onPath ? palette.bold(name) : name}  ${"-".padStart(7)}  ${"-".padStart(7)}  `;
    lines.push(row + palette.red(note));
  });
  lines.push("");
  const stopped = timeline.units.some((u) => u.stopped_ms !== undefined) ? `  ${GLYPH.stopped} stopped` : "";
  lines.push(
    palette.dim(
      `${GLYPH.wait} waiting  ${GLYPH.run} running  ${GLYPH.failed} failed  ${GLYPH.ongoing} in progress${stopped}  * critical path`,
    ),
  );
  lines.push("", ...formatCriticalPath(timeline, palette, width));
  return `${lines.join("\n")}\n`;
}

function bars(unit: TimelineUnit, column: (ms: number) => number, halfColumn: number, palette: Palette): string {
  const cells: string[] = [];
  const paint = (from: number, to: number, glyph: string, style: (text: string) => string) => {
    for (let i = from; i <= to; i++) cells[i] = style(glyph);
  };
  // A run is coloured by how it ended, or as running while it goes on.
  const runStyle = statusStyle(palette, unit.status === "failed" || unit.status === "completed" ? unit.status : "started");
  let last = -1;
  // A wait shorter than half a column is not drawn: it would read as a real wait.
  if (unit.start_requested_ms !== undefined && unit.wait_ms !== undefined && unit.wait_ms >= halfColumn) {
    const from = column(unit.start_requested_ms);
    const to = Math.max(from, column(unit.start_requested_ms + unit.wait_ms));
    paint(from, to, GLYPH.wait, statusStyle(palette, "pending"));
    last = to;
  }
  if (unit.started_ms !== undefined && unit.run_ms !== undefined) {
    const from = column(unit.started_ms);
    const to = Math.max(from, column(unit.started_ms + unit.run_ms));
    paint(from, to, GLYPH.run, runStyle);
    last = to;
  }
  if (unit.status === "failed") {
    last = Math.max(last, column(unit.ended_ms ?? 0));
    cells[last] = palette.red(GLYPH.failed);
  } else if (unit.in_progress && last >= 0) {
    cells[last] = (unit.started_ms === undefined ? palette.yellow : runStyle)(GLYPH.ongoing);
  } else if (unit.stopped_ms !== undefined) {
    cells[Math.max(last, column(unit.stopped_ms))] = palette.red(GLYPH.stopped);
  } else if (last < 0 && unit.ended_ms !== undefined) {
    cells[column(unit.ended_ms)] = runStyle(GLYPH.ended);
  }
  return Array.from(cells, (cell) => cell ?? " ").join("");
}

/** Tick labels over the bar columns, each at the column where its time falls. */
function axis(span: number, barWidth: number): string {
  const step = tickStep(span, Math.max(1, Math.floor(barWidth / 9)));
  let line = "";
  for (let tick = 0; tick <= span + 1e-9; tick += step) {
    const at = Math.round((tick / span) * barWidth);
    const label = formatTick(tick);
    if (at < line.length + (line.length === 0 ? 0 : 1) || at + label.length > barWidth) continue;
    line = line.padEnd(at) + label;
  }
  return line;
}

/** `systemd-analyze critical-chain`, first link first: when each started, how long it waited and ran. */
function formatCriticalPath(timeline: TimelineResponse, palette: Palette, width: number): string[] {
  const path = timeline.critical_path;
  if (path.length === 0) return [];
  const names = path.map((u) => truncate(u.unit_name, NAME_LIMIT));
  const blockedBy = timeline.critical_path_blocked_by;
  const lines = [palette.bold(truncate(`Critical path: ${criticalChain(timeline, NAME_LIMIT).join(" -> ")}`, width))];
  const nameWidth = Math.max(...[...names, truncate(blockedBy ?? "", NAME_LIMIT)].map((name) => [...name].length));
  if (blockedBy !== undefined) {
    lines.push(`  ${pad(truncate(blockedBy, NAME_LIMIT), nameWidth)}  ${palette.red(`not registered: ${path[0]!.unit_name} could never start`)}`);
  }
  path.forEach((unit, index) => {
    const parts = timeSpent(unit);
    // A target never runs: its wait is its members' work.
    if (unit.target) parts.unshift("target");
    const state = stateOf(unit);
    if (state !== undefined) parts.push(state);
    const head = `  ${pad(names[index]!, nameWidth)}  ${`@${formatDuration(startOf(unit))}`.padEnd(8)}  ${parts.join(", ")}`;
    if (unit.in_progress || unit.status !== "failed") return void lines.push(head.trimEnd());
    // The reason is the one thing of unbounded length: it gets what is left of the line.
    const failure = `failed${unit.reason ? `: ${unit.reason}` : ""}`;
    const separator = parts.length > 0 ? ", " : "";
    const room = Math.max(10, width - [...head].length - separator.length);
    lines.push(`${head}${separator}${palette.red(truncate(failure, room))}`);
  });
  const last = path[path.length - 1]!;
  const ends = last.in_progress ? "is still going at" : last.stopped_ms !== undefined ? "was stopped at" : "ended at";
  lines.push(palette.dim(`  ${names.at(-1)} ${ends} ${formatDuration(timeline.end_ms)}`));
  return lines;
}

function pad(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - [...text].length));
}

/** Shortens `text` to `limit` characters, marking the cut with `…`. */
export function truncate(text: string, limit: number): string {
  const chars = [...text];
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join("")}…`;
}
