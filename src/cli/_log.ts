import type { ConsolaInstance, ConsolaReporter } from "consola/core";
import { clockTime } from "../render/text.ts";
import { writeLogLines } from "./_output.ts";

/** A line waiting to be written: its text, or what makes it, for lines that may wait. */
interface Line {
  at: number;
  level: string;
  message: string | (() => string);
}

// One stderr per process, so one queue of lines, written in order a thousand to a write.
// A failure that reaches 10,000 units logs 10,000 lines in the step that answers it: a
// write each cost more than the failure, and one write for all would hold them all at once.
const LINES_PER_WRITE = 1_000;
let queue: Line[] = [];
let flushSoon = false;
let flushLater = false;
// The time stamp of the last line, by its millisecond: reading the local time is the
// slowest part of a line, and a burst of lines shares a few milliseconds.
let stampedAt = Number.NaN;
let stamp = "";

function format({ at, level, message }: Line): string {
  if (at !== stampedAt) {
    stampedAt = at;
    stamp = clockTime(new Date(at));
  }
  return `${stamp} ${level.padEnd(5)} ${typeof message === "string" ? message : message()}\n`;
}

function flush(): void {
  flushSoon = flushLater = false;
  const lines = queue;
  queue = [];
  for (let first = 0; first < lines.length; first += LINES_PER_WRITE) {
    writeLogLines(lines.slice(first, first + LINES_PER_WRITE).map(format).join(""));
  }
}

/**
 * Logs `HH:MM:SS.mmm level message` to stderr as soon as the current step is over (a
 * microtask: before anything else runs, so nothing is lost to an exit right after).
 */
function logLine(level: string, message: string, at = Date.now()): void {
  queue.push({ at, level, message });
  if (!flushSoon) {
    flushSoon = true;
    queueMicrotask(flush);
  }
}

/**
 * Logs a line whose text `describe` makes only once the step that logged it has answered
 * its clients (or when a line logged with `logLine` goes out, to keep the order): for the
 * lines that come by the thousand, such as `serve`'s unit events.
 */
export function logLineLater(level: string, describe: () => string): void {
  queue.push({ at: Date.now(), level, message: describe });
  if (!flushLater) {
    flushLater = true;
    setImmediate(flush);
  }
}

/**
 * A consola logger for long-running commands, writing `HH:MM:SS.mmm level message` to stderr.
 * Built on consola/core with our own one-line reporter: consola/basic pulls in node:util,
 * which the bundler hoists into the entry and which cost every client command about 2 ms.
 */
export async function createLogger(): Promise<ConsolaInstance> {
  const { createConsola } = await import("consola/core");
  const reporter: ConsolaReporter = {
    log: (entry) => logLine(entry.type, entry.args.map(String).join(" "), entry.date.getTime()),
  };
  // throttle 0: every unit event matters, even when two lines look alike.
  return createConsola({ reporters: [reporter], throttle: 0 });
}
