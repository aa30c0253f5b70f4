import { UnitsyncError } from "../protocol/index.ts";

/**
 * Thrown by `print` and `printError` when the stream's reader went away (EPIPE, as in
 * `unitsync list | head -1`): the runner ends the command quietly, as SIGPIPE ends a Unix tool.
 */
export class OutputClosed extends Error {
  override readonly name = "OutputClosed";
}

/** Writes results to stdout; resolves once the bytes are out, so an exit right after loses nothing. */
export async function print(text: string): Promise<void> {
  await write(Bun.stdout, "stdout", text);
}

/** Writes one diagnostic line to stderr. */
export async function printError(text: string): Promise<void> {
  await write(Bun.stderr, "stderr", text);
}

async function write(stream: Bun.BunFile, name: string, text: string): Promise<void> {
  try {
    await Bun.write(stream, text.endsWith("\n") ? text : `${text}\n`);
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if (code === "EPIPE") throw new OutputClosed(`the reader of ${name} went away`);
    // A full disk or a dead terminal: a plain failure of the command, not a bug.
    throw new UnitsyncError("internal", `cannot write to ${name}: ${message ?? code}`);
  }
}

/** Machine-readable output: indented JSON and a newline, nothing else on stdout. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Coder's table layout: upper-case headers, every cell left-aligned and padded to its
 * column's width plus two spaces, the last column included, so lines keep trailing spaces.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, column) => Math.max(...all.map((row) => row[column]!.length)));
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
  const ms = String(date.getMilliseconds()).padStart(3, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${ms}`;
}
