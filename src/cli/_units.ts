import { UnitsyncError } from "../protocol/index.ts";
import { usageError } from "./_parser.ts";

/** Checks the positional count with Coder's wording and rejects empty names before any request. */
export function unitArguments(positionals: string[], min: number, max: number, message: string): string[] {
  if (positionals.length < min || positionals.length > max) throw usageError(message);
  if (positionals.some((name) => name === "")) throw usageError("unit name is required (got an empty string)");
  return positionals;
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
