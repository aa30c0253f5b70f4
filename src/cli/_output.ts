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
