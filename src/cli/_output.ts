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
  await write(1, text);
}

/** Writes one diagnostic line to stderr. */
export async function printError(text: string): Promise<void> {
  await write(2, text);
}

/**
 * One incremental writer per stream, made on first use. Not `Bun.write(Bun.stdout, ...)`: on a
 * pipe that something made non-blocking (building `process.stdout` does), Bun 1.4.5 retries a
 * write cut short by a full pipe from its start, and the reader gets the first 64 KiB twice
 * (`events -o json | wc -c`); a FileSink carries on from where the write stopped.
 */
const sinks: Partial<Record<1 | 2, Bun.FileSink>> = {};

function sinkOf(fd: 1 | 2): Bun.FileSink {
  return (sinks[fd] ??= (fd === 1 ? Bun.stdout : Bun.stderr).writer());
}

/**
 * Writes log lines to stderr without waiting for them to leave: a server's log must never
 * hold it up, and a reader of it that went away loses the lines, nothing else. Through the
 * same writer as `printError`, so the two keep their order; not through `process.stderr`,
 * whose first use loads Node's stream modules (about 10 ms before `serve`'s first line).
 */
export function writeLogLines(text: string): void {
  try {
    const sink = sinkOf(2);
    sink.write(text);
    void Promise.resolve(sink.flush()).catch(() => {});
  } catch {
    // stderr is gone: there is nowhere to say so.
  }
}

async function write(fd: 1 | 2, text: string): Promise<void> {
  const name = fd === 1 ? "stdout" : "stderr";
  try {
    const sink = sinkOf(fd);
    sink.write(text.endsWith("\n") ? text : `${text}\n`);
    await sink.flush();
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    if (code === "EPIPE") throw new OutputClosed(`the reader of ${name} went away`);
    // A full disk or a dead terminal: a plain failure of the command, not a bug.
    throw new UnitsyncError("internal", `cannot write to ${name}: ${message ?? code}`);
  }
}
