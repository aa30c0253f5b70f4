import type { ErrorCode } from "./api.ts";

/** The one error type above the graph: a stable code plus a message that says what to do next. */
export class UnitsyncError extends Error {
  override readonly name = "UnitsyncError";

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A usage error: wrong arguments or flags, exit code 2. */
export function usageError(message: string): UnitsyncError {
  return new UnitsyncError("usage", message);
}
