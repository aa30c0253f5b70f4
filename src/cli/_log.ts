import type { ConsolaInstance, ConsolaReporter } from "consola/core";
import { clockTime } from "./_output.ts";

// One stderr per process, so one batch: the lines of one synchronous step go out together,
// right after it, a thousand to a write. A failure that reaches 10,000 units logs 10,000
// lines at once: a write each cost more than the failure, and one write for all of them
// would hold them all in memory at once.
const BATCH_LINES = 1_000;
let batch: string[] = [];
// The time stamp of the last line, by its millisecond: reading the local time is the
// slowest part of a line, and a burst of lines shares a few milliseconds.
let stampedAt = Number.NaN;
let stamp = "";

function flush(): void {
  if (batch.length === 0) return;
  process.stderr.write(batch.join(""));
  batch = [];
}

/**
 * Logs `HH:MM:SS.mmm level message` to stderr, as the logger does, without consola's work
 * per message: for the lines that come by the thousand, such as `serve`'s unit events.
 */
export function logLine(level: string, message: string, at = Date.now()): void {
  if (batch.length === 0) queueMicrotask(flush);
  if (at !== stampedAt) {
    stampedAt = at;
    stamp = clockTime(new Date(at));
  }
  batch.push(`${stamp} ${level.padEnd(5)} ${message}\n`);
  if (batch.length >= BATCH_LINES) flush();
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
