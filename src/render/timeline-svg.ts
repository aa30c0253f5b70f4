import { VERSION, type TimelineResponse, type TimelineUnit } from "../protocol/index.ts";
import { STATUS_COLORS } from "./color.ts";
import { formatDuration } from "./duration.ts";
import { criticalChain, formatTick, startOf, summarize, tickStep, timeSpent, truncate } from "./timeline.ts";

export const WIDTH = 960;
export const PAD = 20;
const ROW = 26;
const BAR = 14;
const DURATION_COLUMN = 190;
export const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

export const COLORS = {
  text: "#1a202c",
  muted: "#718096",
  grid: "#e2e8f0",
  stripe: "#f7fafc",
  wait: STATUS_COLORS.pending.solid,
  completed: STATUS_COLORS.completed.solid,
  started: STATUS_COLORS.started.solid,
  failed: STATUS_COLORS.failed.solid,
  critical: "#dd6b20",
  criticalBand: "#fffaf0",
} as const;

/** The hatching of a wait, `url(#wait)`, shared by every picture of the start-up. */
export const WAIT_PATTERN = [
  "<defs>",
  `<pattern id="wait" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">`,
  `<rect width="6" height="6" fill="#faf089"/><rect width="3" height="6" fill="${COLORS.wait}"/></pattern>`,
  "</defs>",
].join("\n");

/**
 * The start-up as an SVG waterfall for a bug report or a browser: one row per unit, a
 * time axis, hatched wait and solid run segments coloured by outcome, failures crossed
 * out, work still in progress arrowed, and the critical path outlined in orange.
 */
export function timelineSvg(timeline: TimelineResponse): string {
  const critical = new Set(timeline.critical_path.map((u) => u.unit_name));
  const missing = timeline.missing ?? [];
  const rows = timeline.units.length + missing.length;
  const longest = Math.max(8, ...[...timeline.units, ...missing].map((u) => [...u.unit_name].length));
  const nameWidth = Math.min(300, Math.max(120, longest * 7 + 28));
  const chartX = PAD + nameWidth;
  const chartWidth = WIDTH - chartX - DURATION_COLUMN - PAD;
  const span = Math.max(timeline.end_ms, 1e-3);
  const x = (ms: number) => chartX + (Math.min(Math.max(ms, 0), span) / span) * chartWidth;
  const axisY = 78;
  const top = axisY + 12;
  const bottom = top + Math.max(1, rows) * ROW;
  const height = bottom + 76;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT}" font-size="12">`,
    WAIT_PATTERN,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    text(PAD, 30, "unitsync start-up timeline", { size: 17, weight: "600" }),
    text(PAD, 52, summarize(timeline), { fill: COLORS.muted }),
  ];
  if (timeline.critical_path.length > 0) {
    const chain = criticalChain(timeline).join(" → ");
    out.push(text(PAD, 68, `critical path: ${truncate(chain, 140)}`, { fill: COLORS.critical }));
  }

  const step = tickStep(span, Math.max(2, Math.floor(chartWidth / 80)));
  for (let tick = 0; tick <= span + 1e-9; tick += step) {
    out.push(line(x(tick), axisY + 4, x(tick), bottom, COLORS.grid));
    out.push(text(x(tick), axisY, formatTick(tick), { fill: COLORS.muted, anchor: "middle", size: 11 }));
  }

  timeline.units.forEach((unit, index) => {
    const rowY = top + index * ROW;
    const onPath = critical.has(unit.unit_name);
    if (onPath) out.push(rect(0, rowY, WIDTH, ROW, COLORS.criticalBand));
    else if (index % 2 === 1) out.push(rect(0, rowY, WIDTH, ROW, COLORS.stripe));
    const name = truncate(unit.unit_name, Math.floor((nameWidth - 28) / 7));
    out.push(
      text(PAD, rowY + ROW / 2 + 4, name, {
        weight: onPath ? "600" : undefined,
        fill: onPath ? COLORS.critical : COLORS.text,
        title: unit.unit_name,
      }),
    );
    out.push(...segments(unit, rowY + (ROW - BAR) / 2, x, onPath));
    out.push(
      text(WIDTH - PAD - DURATION_COLUMN + 12, rowY + ROW / 2 + 4, durations(unit), {
        fill: COLORS.muted,
        size: 11,
        title: unit.reason === undefined ? undefined : `failed: ${unit.reason || "no reason given"}`,
      }),
    );
  });
  // A name nobody registered gets a row of its own: it never waited or ran, but others waited for it.
  missing.forEach((unit, index) => {
    const rowY = top + (timeline.units.length + index) * ROW;
    const onPath = unit.unit_name === timeline.critical_path_blocked_by;
    if (onPath) out.push(rect(0, rowY, WIDTH, ROW, COLORS.criticalBand));
    const name = truncate(unit.unit_name, Math.floor((nameWidth - 28) / 7));
    out.push(text(PAD, rowY + ROW / 2 + 4, name, { weight: onPath ? "600" : undefined, fill: COLORS.failed, title: unit.unit_name }));
    out.push(text(chartX, rowY + ROW / 2 + 4, `not registered, needed by ${truncate(unit.needed_by.join(", "), 60)}`, { fill: COLORS.failed }));
  });
  if (timeline.units.length === 0) {
    out.push(text(chartX, top + ROW / 2 + 4, "no unit has waited, run or ended yet", { fill: COLORS.muted }));
  }
  out.push(line(chartX, bottom, chartX + chartWidth, bottom, "#a0aec0"));
  out.push(...legend(PAD, bottom + 30, timeline.units.some((u) => u.stopped_ms !== undefined)));
  out.push(
    text(PAD, bottom + 60, `time zero ${timeline.origin} · drawn by unitsync ${VERSION}`, { fill: COLORS.muted, size: 10 }),
  );
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function segments(unit: TimelineUnit, y: number, x: (ms: number) => number, onPath: boolean): string[] {
  const out: string[] = [];
  const outline = onPath ? ` stroke="${COLORS.critical}" stroke-width="2"` : "";
  const runColor = unit.status === "failed" ? COLORS.failed : unit.status === "completed" ? COLORS.completed : COLORS.started;
  let end: number | undefined;
  if (unit.start_requested_ms !== undefined && unit.wait_ms !== undefined) {
    const from = x(unit.start_requested_ms);
    end = x(unit.start_requested_ms + unit.wait_ms);
    if (end - from >= 0.5) out.push(`<rect x="${n(from)}" y="${n(y + 2)}" width="${n(end - from)}" height="${BAR - 4}" fill="url(#wait)" rx="2"${outline}/>`);
  }
  if (unit.started_ms !== undefined && unit.run_ms !== undefined) {
    const from = x(unit.started_ms);
    end = x(unit.started_ms + unit.run_ms);
    out.push(`<rect x="${n(from)}" y="${n(y)}" width="${n(Math.max(2, end - from))}" height="${BAR}" fill="${runColor}" rx="2"${outline}/>`);
    end = Math.max(end, from + 2);
  }
  const middle = y + BAR / 2;
  if (unit.status === "failed") {
    out.push(end === undefined ? cross(x(unit.ended_ms ?? 0), middle) : cross(end + 8, middle));
  } else if (unit.in_progress && end !== undefined) {
    const color = unit.started_ms === undefined ? COLORS.wait : runColor;
    out.push(`<path d="M${n(end + 2)} ${n(middle - 6)} L${n(end + 10)} ${n(middle)} L${n(end + 2)} ${n(middle + 6)} Z" fill="${color}"/>`);
  } else if (unit.stopped_ms !== undefined) {
    out.push(`<rect x="${n((end ?? x(unit.stopped_ms)) + 3)}" y="${n(middle - 5)}" width="10" height="10" fill="${COLORS.failed}"/>`);
  } else if (end === undefined && unit.ended_ms !== undefined) {
    const at = x(unit.ended_ms);
    out.push(`<path d="M${n(at)} ${n(middle - 6)} L${n(at + 6)} ${n(middle)} L${n(at)} ${n(middle + 6)} L${n(at - 6)} ${n(middle)} Z" fill="${runColor}"/>`);
  }
  return out;
}

function durations(unit: TimelineUnit): string {
  const parts = timeSpent(unit);
  if (unit.in_progress) parts.push(unit.started_ms === undefined ? "waiting" : "running");
  else if (unit.stopped_ms !== undefined) parts.push("stopped");
  else if (unit.status === "failed") parts.push("failed");
  else if (parts.length === 0) parts.push(`${unit.status} @${formatDuration(startOf(unit))}`);
  return parts.join(" · ");
}

function legend(left: number, y: number, withStopped: boolean): string[] {
  const items: Array<[string, string]> = [
    [`<rect x="0" y="-9" width="22" height="10" fill="url(#wait)" rx="2"/>`, "waiting for dependencies"],
    [`<rect x="0" y="-11" width="22" height="14" fill="${COLORS.completed}" rx="2"/>`, "ran, completed"],
    [`<rect x="0" y="-11" width="22" height="14" fill="${COLORS.started}" rx="2"/>`, "running"],
    [`<rect x="0" y="-11" width="22" height="14" fill="${COLORS.failed}" rx="2"/>`, "failed"],
    [`<rect x="1" y="-10" width="20" height="12" fill="#ffffff" stroke="${COLORS.critical}" stroke-width="2" rx="2"/>`, "critical path"],
  ];
  if (withStopped) items.splice(4, 0, [`<rect x="6" y="-9" width="10" height="10" fill="${COLORS.failed}"/>`, "stopped by up"]);
  const out: string[] = [];
  let at = left;
  for (const [swatch, label] of items) {
    out.push(`<g transform="translate(${at} ${y})">${swatch}</g>`);
    out.push(text(at + 28, y, label, { fill: COLORS.muted, size: 11 }));
    at += 28 + label.length * 6.2 + 22;
  }
  return out;
}

function cross(cx: number, cy: number): string {
  const r = 5;
  return `<path d="M${n(cx - r)} ${n(cy - r)} L${n(cx + r)} ${n(cy + r)} M${n(cx + r)} ${n(cy - r)} L${n(cx - r)} ${n(cy + r)}" stroke="${COLORS.failed}" stroke-width="2.5" stroke-linecap="round"/>`;
}

export interface TextStyle {
  size?: number;
  weight?: string;
  fill?: string;
  anchor?: "start" | "middle" | "end";
  /** A tooltip, e.g. the full name behind a shortened one. */
  title?: string;
}

export function text(x: number, y: number, content: string, style: TextStyle = {}): string {
  const attributes = [
    `x="${n(x)}"`,
    `y="${n(y)}"`,
    style.size ? `font-size="${style.size}"` : "",
    style.weight ? `font-weight="${style.weight}"` : "",
    `fill="${style.fill ?? COLORS.text}"`,
    style.anchor ? `text-anchor="${style.anchor}"` : "",
  ].filter(Boolean);
  const title = style.title === undefined ? "" : `<title>${escapeXml(style.title)}</title>`;
  return `<text ${attributes.join(" ")}>${title}${escapeXml(content)}</text>`;
}

export function rect(x: number, y: number, width: number, height: number, fill: string): string {
  return `<rect x="${n(x)}" y="${n(y)}" width="${n(width)}" height="${n(height)}" fill="${fill}"/>`;
}

export function line(x1: number, y1: number, x2: number, y2: number, stroke: string): string {
  return `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${stroke}" stroke-width="1"/>`;
}

/** Coordinates to a tenth of a pixel keep the file small and stable. */
export function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
