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
