import { VERSION } from "../protocol/index.ts";
import { benchHeading, unitSamples, waited, type BenchFile, type Samples } from "./bench.ts";
import { STATUS_COLORS } from "./color.ts";
import { formatDuration } from "./duration.ts";
import { describe, quantile } from "./stats.ts";
import { formatTick, tickStep, truncate } from "./timeline.ts";
import { COLORS, FONT, line, n, PAD, rect, text, WAIT_PATTERN, WIDTH } from "./timeline-svg.ts";

const ROW = 44;
const BAR = 12;
const FIGURES_COLUMN = 250;
const SPREAD = "#4a5568";
/** The box of when a run began, and of when it ended: the lighter shades of waiting and completed. */
const BEGAN_FILL = STATUS_COLORS.pending.light;
const ENDED_FILL = STATUS_COLORS.completed.light;

/** Where a boundary of a unit fell across the runs: its median and the quartiles and extremes around it. */
interface Spread {
  min: number;
  q1: number;
  median: number;
  q3: number;
  max: number;
}

function spreadOf(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0]!, q1: quantile(sorted, 0.25), median: quantile(sorted, 0.5), q3: quantile(sorted, 0.75), max: sorted.at(-1)! };
}

/**
 * The benchmark as a picture on the waterfall's time axis: per unit, its median wait
 * (hatched) and run (solid) as a bar, and under it box plots of when its run began and
 * when it ended across the runs (box: the middle half of the runs; whiskers: the fastest
 * and the slowest), so where start-up time goes and how much it varies read at a glance.
 * Units of the most frequent critical path are outlined in orange.
 */
export function benchSvg(file: BenchFile): string {
  const { summary } = file;
  const samples = [...unitSamples(file.runs)];
  const critical = new Set(summary.critical_path?.units ?? []);
  const criticalRuns = new Map(summary.units.map((unit) => [unit.unit_name, unit.critical_runs]));
  const longest = Math.max(8, ...samples.map(([name]) => [...name].length));
  const nameWidth = Math.min(300, Math.max(120, longest * 7 + 28));
  const chartX = PAD + nameWidth;
  const chartWidth = WIDTH - chartX - FIGURES_COLUMN - PAD;
  // A reduce, not Math.max(...all): many units times many runs would overflow the arguments.
  const span = samples.reduce((latest, [, s]) => [s.end, s.started, s.startRequested].flat().reduce((a, b) => Math.max(a, b), latest), 1e-3);
  const x = (ms: number) => chartX + (Math.min(Math.max(ms, 0), span) / span) * chartWidth;
  const axisY = 94;
  const top = axisY + 12;
  const bottom = top + Math.max(1, samples.length) * ROW;
  const height = bottom + 96;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}" font-size="12">`,
    WAIT_PATTERN,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(PAD, 30, "unitsync start-up benchmark", { size: 17, weight: "600" }),
    text(PAD, 52, benchHeading(file).replace(/^Start-up benchmark: /, ""), { fill: COLORS.muted }),
  ];
  const end = summary.startup?.end;
  if (end) {
    const figures = `start-up: median ${formatDuration(end.median)}, p95 ${formatDuration(end.p95)}, ${formatDuration(end.min)} … ${formatDuration(end.max)}`;
    out.push(text(PAD, 68, figures, { fill: COLORS.muted }));
  }
  if (summary.critical_path) {
    const chain = `most frequent critical path (${summary.critical_path.runs}/${summary.ok} runs): ${summary.critical_path.units.join(" → ")}`;
    out.push(text(PAD, 84, truncate(chain, 150), { fill: COLORS.critical }));
  }

  const step = tickStep(span, Math.max(2, Math.floor(chartWidth / 80)));
  for (let tick = 0; tick <= span + 1e-9; tick += step) {
    out.push(line(x(tick), axisY + 4, x(tick), bottom, COLORS.grid));
    out.push(text(x(tick), axisY, formatTick(tick), { fill: COLORS.muted, anchor: "middle", size: 11 }));
  }

  samples.forEach(([name, unit], index) => {
    const rowY = top + index * ROW;
    const onPath = critical.has(name);
    if (onPath) out.push(rect(0, rowY, WIDTH, ROW, COLORS.criticalBand));
    else if (index % 2 === 1) out.push(rect(0, rowY, WIDTH, ROW, COLORS.stripe));
    out.push(
      text(PAD, rowY + 18, truncate(name, Math.floor((nameWidth - 28) / 7)), {
        weight: onPath ? "600" : undefined,
        fill: onPath ? COLORS.critical : COLORS.text,
        title: name,
      }),
    );
    out.push(...medianBar(unit, rowY + 5, x, onPath));
    // Each boundary on a lane of its own, so a wide spread of one never hides the other.
    for (const [values, fill, lane] of [[unit.started, BEGAN_FILL, 26], [unit.end, ENDED_FILL, 36]] as const) {
      const spread = spreadOf(values);
      if (spread) out.push(...boxPlot(spread, rowY + lane, x, fill));
    }
    out.push(text(WIDTH - PAD - FIGURES_COLUMN + 12, rowY + 18, figures(unit), { fill: COLORS.muted, size: 11 }));
    const seen = criticalRuns.get(name) ?? 0;
    out.push(text(WIDTH - PAD - FIGURES_COLUMN + 12, rowY + 33, `critical path in ${seen}/${summary.ok} runs`, { fill: seen > 0 ? COLORS.critical : COLORS.muted, size: 10 }));
  });
  if (samples.length === 0) out.push(text(chartX, top + ROW / 2 + 4, "no run succeeded: nothing to draw", { fill: COLORS.failed }));
  out.push(line(chartX, bottom, chartX + chartWidth, bottom, "#a0aec0"));
  out.push(...legend(PAD, bottom + 30));
  out.push(
    text(PAD, bottom + 56, `bars: medians over the ${summary.ok} ok runs, from the first unit's registration; runs that failed, deadlocked or timed out are counted above, not drawn`, {
      fill: COLORS.muted,
      size: 10,
    }),
  );
  out.push(text(PAD, bottom + 76, `drawn by unitsync ${VERSION}`, { fill: COLORS.muted, size: 10 }));
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

/** The unit's median wait (hatched) and median run (solid), between the medians of its boundaries. */
function medianBar(unit: Samples, y: number, x: (ms: number) => number, onPath: boolean): string[] {
  const out: string[] = [];
  const outline = onPath ? ` stroke="${COLORS.critical}" stroke-width="2"` : "";
  const requested = describe(unit.startRequested)?.median;
  const started = describe(unit.started)?.median;
  const ended = describe(unit.end)?.median;
  if (requested !== undefined && started !== undefined && x(started) - x(requested) >= 0.5) {
    out.push(`<rect x="${n(x(requested))}" y="${n(y + 2)}" width="${n(x(started) - x(requested))}" height="${BAR - 4}" fill="url(#wait)" rx="2"${outline}/>`);
  }
  if (started !== undefined && ended !== undefined) {
    out.push(`<rect x="${n(x(started))}" y="${n(y)}" width="${n(Math.max(2, x(ended) - x(started)))}" height="${BAR}" fill="${COLORS.completed}" rx="2"${outline}/>`);
  } else if (ended !== undefined) {
    // Completed without a start: a diamond where it ended.
    const at = x(ended);
    const middle = y + BAR / 2;
    out.push(`<path d="M${n(at)} ${n(middle - 6)} L${n(at + 6)} ${n(middle)} L${n(at)} ${n(middle + 6)} L${n(at - 6)} ${n(middle)} Z" fill="${COLORS.completed}"/>`);
  }
  return out;
}

/** A horizontal box plot centred on `y`: whiskers from min to max, a box from q1 to q3, a tick at the median. */
function boxPlot(spread: Spread, y: number, x: (ms: number) => number, fill: string): string[] {
  const half = 4;
  const box = Math.max(1.5, x(spread.q3) - x(spread.q1));
  return [
    line(x(spread.min), y, x(spread.max), y, SPREAD),
    line(x(spread.min), y - half + 1, x(spread.min), y + half - 1, SPREAD),
    line(x(spread.max), y - half + 1, x(spread.max), y + half - 1, SPREAD),
    `<rect x="${n(x(spread.q1))}" y="${n(y - half)}" width="${n(box)}" height="${half * 2}" fill="${fill}" stroke="${SPREAD}" stroke-width="1"/>`,
    `<line x1="${n(x(spread.median))}" y1="${n(y - half)}" x2="${n(x(spread.median))}" y2="${n(y + half)}" stroke="${SPREAD}" stroke-width="2"/>`,
  ];
}

/** `wait 416ms ± 12ms · run 310ms ± 8ms`: the medians and σ beside the bars. */
function figures(unit: Samples): string {
  const parts: string[] = [];
  const wait = describe(unit.wait);
  const run = describe(unit.run);
  if (wait && waited(unit.wait)) parts.push(`wait ${formatDuration(wait.median)} ± ${formatDuration(wait.stddev)}`);
  if (run) parts.push(`run ${formatDuration(run.median)} ± ${formatDuration(run.stddev)}`);
  const ended = describe(unit.end);
  if (parts.length === 0 && ended) parts.push(`ended @${formatDuration(ended.median)}`);
  return parts.join(" · ");
}

function legend(left: number, y: number): string[] {
  const items: Array<[string, string]> = [
    [`<rect x="0" y="-9" width="22" height="10" fill="url(#wait)" rx="2"/>`, "median wait"],
    [`<rect x="0" y="-11" width="22" height="14" fill="${COLORS.completed}" rx="2"/>`, "median run"],
    [spreadSwatch(BEGAN_FILL), "run began"],
    [spreadSwatch(ENDED_FILL), "run ended (min, middle half of the runs, median, max)"],
    [`<rect x="1" y="-10" width="20" height="12" fill="#ffffff" stroke="${COLORS.critical}" stroke-width="2" rx="2"/>`, "most frequent critical path"],
  ];
  const out: string[] = [];
  let at = left;
  for (const [swatch, label] of items) {
    out.push(`<g transform="translate(${at} ${y})">${swatch}</g>`);
    out.push(text(at + 36, y, label, { fill: COLORS.muted, size: 11 }));
    at += 36 + label.length * 5.6 + 18;
  }
  return out;
}

function spreadSwatch(fill: string): string {
  return `<line x1="0" y1="-4" x2="30" y2="-4" stroke="${SPREAD}"/><rect x="8" y="-8" width="14" height="8" fill="${fill}" stroke="${SPREAD}"/><line x1="14" y1="-8" x2="14" y2="0" stroke="${SPREAD}" stroke-width="2"/>`;
}
