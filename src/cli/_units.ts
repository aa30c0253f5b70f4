// Not the graph barrel: that would load the whole graph (a 21-KB chunk) into every client command.
import { notUtf8 } from "../graph/names.ts";
import { UnitsyncError, usageError } from "../protocol/index.ts";

/**
 * Checks the positional count with Coder's wording, and rejects before any request an empty
 * name or one that is not text (the first is the unit, any others its dependencies).
 */
export function unitArguments(positionals: string[], min: number, max: number, message: string): string[] {
  if (positionals.length < min || positionals.length > max) throw usageError(message);
  if (positionals.some((name) => name === "")) throw usageError("unit name is required (got an empty string)");
  positionals.forEach((name, index) => {
    if (!name.isWellFormed() || cameFromBytesNotText(name)) {
      throw new UnitsyncError("invalid_name", notUtf8(index === 0 ? "unit name" : "dependency name"));
    }
  });
  return positionals;
}

/**
 * True when an argument's U+FFFD stands for bytes that were not UTF-8: the runtime decodes
 * argv leniently, so `$'\xff'` and `$'\xfe'` would otherwise both name the unit "\ufffd".
 * Only the kernel's copy of argv tells the two apart; it is read only for such an argument.
 */
function cameFromBytesNotText(argument: string): boolean {
  if (!argument.includes("\ufffd")) return false;
  const { readFileSync } = require("node:fs") as typeof import("node:fs");
  let raw: Uint8Array;
  try {
    raw = readFileSync("/proc/self/cmdline");
  } catch {
    return false; // not Linux: nothing better to go on than the decoded text
  }
  const strict = new TextDecoder("utf-8", { fatal: true });
  const lenient = new TextDecoder();
  let start = 0;
  for (let end = raw.indexOf(0); end >= 0; start = end + 1, end = raw.indexOf(0, start)) {
    const bytes = raw.subarray(start, end);
    if (lenient.decode(bytes) !== argument) continue;
    try {
      strict.decode(bytes);
    } catch {
      return true;
    }
  }
  return false;
}

/** Prefixes a refusal by the server as Coder does (`start unit failed: ...`); other errors pass unchanged. */
export async function refusedAs<T>(prefix: string, request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (error) {
    if (error instanceof UnitsyncError && ["cycle", "wrong_state", "not_registered", "conflict"].includes(error.code)) {
      throw new UnitsyncError(error.code, `${prefix}: ${error.message}`);
    }
    throw error;
  }
}
