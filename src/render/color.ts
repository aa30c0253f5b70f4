import type { StatusText } from "../protocol/index.ts";

/** ANSI styles for terminal output; every function returns its text unchanged when colour is off. */
export interface Palette {
  enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  blue(text: string): string;
  magenta(text: string): string;
  cyan(text: string): string;
}

const CODES = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 } as const;

/**
 * Colour for a stream: only on a terminal, and never when NO_COLOR is set to anything
 * (https://no-color.org), so logs, pipes and CI stay plain.
 */
export function paletteFor(stream: { isTTY?: boolean }): Palette {
  const enabled = Boolean(stream.isTTY) && !process.env.NO_COLOR;
  const style = (code: number) => (text: string) => (enabled ? `\x1b[${code}m${text}\x1b[0m` : text);
  return {
    enabled,
    bold: style(CODES.bold),
    dim: style(CODES.dim),
    red: style(CODES.red),
    green: style(CODES.green),
    yellow: style(CODES.yellow),
    blue: style(CODES.blue),
    magenta: style(CODES.magenta),
    cyan: style(CODES.cyan),
  };
}

/**
 * The one set of colours for the statuses, used by every renderer: the terminal's style
 * (a Palette colour), a solid colour for lines, bars and outlines in pictures, and a light
 * one for the fill of a node. A status reads the same in the timeline, the live view, the
 * SVG and the graph.
 */
export const STATUS_COLORS: Record<StatusText, { terminal: "yellow" | "blue" | "green" | "red" | "dim"; solid: string; light: string }> = {
  pending: { terminal: "yellow", solid: "#d69e2e", light: "#fff4cc" },
  started: { terminal: "blue", solid: "#3182ce", light: "#dbe8ff" },
  completed: { terminal: "green", solid: "#38a169", light: "#d3f4dc" },
  failed: { terminal: "red", solid: "#e53e3e", light: "#fed7d7" },
  "not registered": { terminal: "dim", solid: "#8a8a8a", light: "#ffffff" },
};

/** The terminal style of a status, from `palette`. */
export function statusStyle(palette: Palette, status: StatusText): (text: string) => string {
  return palette[STATUS_COLORS[status].terminal];
}
