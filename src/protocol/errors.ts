import type { ErrorCode } from "./api.ts";

/** The one error type above the graph: a stable code plus a message that says what to do next. */
export class UnitsyncError extends Error {
  override readonly name = "UnitsyncError";

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
