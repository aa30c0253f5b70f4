/**
 * The wake-up chart, bench/results/wakeup.svg: one strip per waiter (every trial a dot, a
 * box from the 25th to the 75th percentile, a bar at the median, a triangle at p99) on a
 * log time axis, so 10 ms and 1 s read on one picture. Hand-written SVG: no dependency.
 */
import { percentile } from "./lib.ts";

export interface Strip {
  label: string;
  color: string;
  /** Milliseconds. */
  samples: number[];
}

/** Vertical lines across the plot, e.g. the targets. */
export interface Marker {
  at: number;
  label: string;
}

const WIDTH = 860;
const LEFT = 40;
const RIGHT = 830;
const TOP = 78;
const ROW = 84;
const BAND = 34;
// The axis runs from 1 ms to 2 s: a push wake-up is a few ms, a poller up to a second.
const LOW_MS = 1;
const HIGH_MS = 2_000;
const TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];

function x(valueMs: number): number {
  const clamped = Math.min(HIGH_MS, Math.max(LOW_MS, valueMs));
  return LEFT + ((RIGHT - LEFT) * Math.log10(clamped / LOW_MS)) / Math.log10(HIGH_MS / LOW_MS);
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function tickLabel(valueMs: number): string {
  return valueMs >= 1000 ? `${valueMs / 1000} s` : `${valueMs} ms`;
}

function shortMs(valueMs: number): string {
  return valueMs < 100 ? `${valueMs.toFixed(1)} ms` : `${valueMs.toFixed(0)} ms`;
}

/** The whole SVG document. */
export function stripChart(title: string, subtitle: string, strips: Strip[], markers: Marker[]): string {
  const axisY = TOP + strips.length * ROW + 6;
  const height = axisY + 56;
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${LEFT}" y="26" font-size="16" font-weight="bold" fill="#222">${escape(title)}</text>`,
    `<text x="${LEFT}" y="45" font-size="12" fill="#555">${escape(subtitle)}</text>`,
  ];
  for (const tick of TICKS) {
    out.push(`<line x1="${f(x(tick))}" y1="${TOP - 12}" x2="${f(x(tick))}" y2="${axisY}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${f(x(tick))}" y="${axisY + 17}" font-size="11" fill="#444" text-anchor="middle">${tickLabel(tick)}</text>`);
  }
  out.push(`<line x1="${LEFT}" y1="${axisY}" x2="${RIGHT}" y2="${axisY}" stroke="#888"/>`);
  out.push(
    `<text x="${(LEFT + RIGHT) / 2}" y="${axisY + 40}" font-size="12" fill="#333" text-anchor="middle">time from the spawn of \`complete\` to the waiting script going on (log scale)</text>`,
  );
  for (const [i, marker] of markers.entries()) {
    const mx = f(x(marker.at));
    out.push(`<line x1="${mx}" y1="${TOP - 16}" x2="${mx}" y2="${axisY}" stroke="#c0392b" stroke-dasharray="4 3"/>`);
    // Labels alternate sides of their line, so two close markers do not overlap.
    const anchor = i % 2 === 0 ? "end" : "start";
    const dx = i % 2 === 0 ? -4 : 4;
    out.push(`<text x="${f(x(marker.at) + dx)}" y="${TOP - 18}" font-size="11" fill="#c0392b" text-anchor="${anchor}">${escape(marker.label)}</text>`);
  }
  for (const [row, strip] of strips.entries()) {
    const top = TOP + row * ROW;
    const mid = top + 22 + BAND / 2;
    const [p25, p50, p75, p99] = [25, 50, 75, 99].map((p) => percentile(strip.samples, p)) as [number, number, number, number];
    out.push(
      // A white halo keeps the label readable where it crosses a marker line.
      `<text x="${LEFT}" y="${top + 12}" font-size="13" fill="#222" paint-order="stroke" stroke="#fff" stroke-width="4">` +
        `<tspan font-weight="bold" fill="${strip.color}">${escape(strip.label)}</tspan>: median ${shortMs(p50)}, p99 ${shortMs(p99)}, ${strip.samples.length} trials</text>`,
    );
    out.push(`<line x1="${f(x(Math.min(...strip.samples)))}" y1="${mid}" x2="${f(x(Math.max(...strip.samples)))}" y2="${mid}" stroke="${strip.color}" stroke-opacity="0.5"/>`);
    out.push(
      `<rect x="${f(x(p25))}" y="${mid - BAND / 2}" width="${f(Math.max(1, x(p75) - x(p25)))}" height="${BAND}" fill="${strip.color}" fill-opacity="0.14" stroke="${strip.color}" stroke-opacity="0.7"/>`,
    );
    for (const [k, value] of strip.samples.entries()) {
      // A fixed jitter (golden-ratio steps) spreads equal values apart and keeps the file the same for the same samples.
      const jitter = (((k * 0.618034) % 1) - 0.5) * (BAND - 8);
      out.push(`<circle cx="${f(x(value))}" cy="${f(mid + jitter)}" r="2.6" fill="${strip.color}" fill-opacity="0.55"/>`);
    }
    out.push(`<line x1="${f(x(p50))}" y1="${mid - BAND / 2 - 3}" x2="${f(x(p50))}" y2="${mid + BAND / 2 + 3}" stroke="#111" stroke-width="3"/>`);
    const px = x(p99);
    out.push(`<path d="M${f(px - 5)} ${mid - BAND / 2 - 9} L${f(px + 5)} ${mid - BAND / 2 - 9} L${f(px)} ${mid - BAND / 2 - 1} Z" fill="#111"/>`);
  }
  out.push(`</svg>`, ``);
  return out.join("\n");
}
