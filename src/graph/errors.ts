/** Why the graph refused an operation; stable strings that travel over the wire unchanged. */
export type GraphErrorCode =
  | "invalid_name"
  | "not_registered"
  | "cycle"
  | "wrong_state"
  | "conflict"
  | "dependency_failed"
  | "limit_exceeded"
  | "is_target";

/** The one error the graph throws: a refused operation with a message a user can act on. */
export class GraphError extends Error {
  override readonly name = "GraphError";

  constructor(
    readonly code: GraphErrorCode,
    message: string,
  ) {
    super(message);
  }
}
