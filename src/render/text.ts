import { localOffsetMs } from "../protocol/libc.ts";
/** Machine-readable output: indented JSON and a newline, nothing else on stdout. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Coder's table layout: upper-case headers, every cell left-aligned and padded to its
 * column's width plus two spaces, the last column included, so lines keep trailing spaces.
 * No column is padded wider than `widest`: a longer cell overflows its column, which suits
 * a last column of free text (one long reason must not pad every other row to its length).
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], widest = Infinity): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, column) => Math.min(widest, all.reduce((most, row) => Math.max(most, row[column]!.length), 0)));
  return all.map((row) => row.map((cell, column) => `${cell.padEnd(widths[column]!)}  `).join("")).join("\n") + "\n";
}

/** What `fail` and `complete --exit-code N` print: `Unit "x" marked failed: exit code 1`. */
export function failedLine(unit: { unit_name: string; reason?: string }): string {
  return `Unit ${JSON.stringify(unit.unit_name)} marked failed${unit.reason ? `: ${unit.reason}` : ""}`;
}

/** `[a, b, c]`, the list form every message uses. */
export function formatList(names: readonly string[]): string {
  return `[${names.join(", ")}]`;
}

/** `HH:MM:SS.mmm` in local time, the time stamp of every log and event line. */
export function clockTime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const offset = localOffsetMs(date.getTime());
  if (offset === undefined) {
    return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, "0")}`;
  }
  // The local time, read with the UTC getters: they need no time zone data.
  const local = new Date(date.getTime() + offset);
  return `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}.${String(local.getUTCMilliseconds()).padStart(3, "0")}`;
}
