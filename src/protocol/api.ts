import type { GraphErrorCode, Requirement, UnitStatus } from "../graph/index.ts";

/** Every route lives under this prefix; a breaking change to the wire gets a new one. */
export const API_PREFIX = "/v1";

/** The host part of request URLs; any name works over a Unix socket, this one reads well in curl. */
export const API_ORIGIN = "http://unitsync";

export type { Requirement } from "../graph/index.ts";

/** A status as it appears on the wire and in tables; unregistered names read `not registered`. */
export type StatusText = UnitStatus | "not registered";

/** `GET /v1/ping` */
export interface PingResponse {
  version: string;
  pid: number;
}

/** One entry of `GET /v1/units`. */
export interface UnitListEntry {
  unit_name: string;
  status: UnitStatus;
  is_ready: boolean;
  /** Why a failed unit failed; absent otherwise, so Coder's shape is unchanged. */
  reason?: string;
}

/** One dependency in `GET /v1/units/{unit}`. */
export interface DependencyEntry {
  depends_on: string;
  /** Coder's column: the status that satisfies the edge (`completed|failed` for `completion`). */
  required_status: string;
  current_status: StatusText;
  is_satisfied: boolean;
  requires: Requirement;
}

/** `GET /v1/units/{unit}`: works for unregistered names too, as Coder's does. */
export interface UnitStatusResponse {
  unit_name: string;
  status: StatusText;
  is_ready: boolean;
  reason?: string;
  dependencies: DependencyEntry[];
}

/** `POST /v1/units/{unit}/dependencies` */
export interface WantRequest {
  depends_on: string[];
  /** Defaults to `success`. */
  requires?: Requirement;
}

export interface WantResponse {
  unit_name: string;
  dependencies: string[];
}

/** `POST /v1/units/{unit}/start`; `timeout_ms` 0 waits for ever. */
export interface StartRequest {
  timeout_ms: number;
}

/**
 * The lines of the `application/x-ndjson` answer to a start. The first is `waiting`
 * or already final; `waiting` repeats when the set of unsatisfied dependencies grows;
 * the last is `started` or `error`.
 */
export type StartLine =
  | { type: "waiting"; unsatisfied: string[] }
  | { type: "started"; dependencies: string[]; waited_for: string[] }
  | ErrorLine;

export interface ErrorLine extends ErrorBody {
  type: "error";
}

/** `POST /v1/units/{unit}/complete` and `/fail` */
export interface CompleteResponse {
  unit_name: string;
  status: UnitStatus;
  reason?: string;
}

/** `POST /v1/units/{unit}/fail` */
export interface FailRequest {
  reason?: string;
}

/**
 * Stable error codes. The graph's own codes pass through unchanged; the rest come
 * from the server (bad requests, limits, time-outs) or the client (no server).
 */
export type ErrorCode =
  | GraphErrorCode
  | "bad_request"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "conflict"
  | "timeout"
  | "server_closing"
  | "server_unreachable"
  | "usage"
  | "internal";

/** The body of every non-2xx answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}
