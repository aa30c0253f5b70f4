import type { GraphErrorCode, Requirement, UnitStatus } from "../graph/index.ts";

/** Every route lives under this prefix; a breaking change to the wire gets a new one. */
export const API_PREFIX = "/v1";

/** setTimeout fires at once for delays past 2^31-1 ms; any wait that long is "for ever" in practice, on both sides. */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** The host part of request URLs; any name works over a Unix socket, this one reads well in curl. */
export const API_ORIGIN = "http://unitsync";

/**
 * The header every answer carries naming the server that gave it (its pid and start time):
 * a client cut off mid-answer tells a restarted server from the same one still running.
 */
export const SERVER_ID_HEADER = "unitsync-server";

export type { Requirement } from "../graph/index.ts";

/** A status as it appears on the wire and in tables; unregistered names read `not registered`. */
export type StatusText = UnitStatus | "not registered";

/** `GET /v1/ping` */
export interface PingResponse {
  version: string;
  pid: number;
  /** When the server started, RFC 3339 with milliseconds. */
  started_at: string;
  uptime_ms: number;
  /** Registered units (names only named as dependencies are not counted). */
  units: number;
  /** Present when this server began with what an earlier one on its path had journaled. */
  recovered?: Recovery;
}

/** What a server recovered from the journal an earlier server on its path left. */
export interface Recovery {
  /** The journal's path. */
  from: string;
  /** Operations replayed. */
  operations: number;
  /** Registered units after the replay. */
  units: number;
  /** The journal's last line was cut short (a write the earlier server did not finish) and was left out. */
  dropped_torn_line: boolean;
  took_ms: number;
}

/**
 * When a unit reached each point of its current attempt, RFC 3339 with milliseconds;
 * a point not reached yet is absent. A retry starts the attempt over.
 */
export interface UnitTimestamps {
  registered_at: string;
  start_requested_at?: string;
  started_at?: string;
  completed_at?: string;
  failed_at?: string;
}

/** One entry of `GET /v1/units`. */
export interface UnitListEntry extends UnitTimestamps {
  unit_name: string;
  status: UnitStatus;
  is_ready: boolean;
  /** Why a failed unit failed; absent otherwise, so Coder's shape is unchanged. */
  reason?: string;
  /** A target (`unitsync target`): it completes when its members have. Absent for other units. */
  target?: boolean;
  /** Declared with `unitsync first`: units outside the set-up phase wait for it. Absent otherwise. */
  first?: boolean;
}

/** One dependency in `GET /v1/units/{unit}`. */
export interface DependencyEntry {
  depends_on: string;
  /** Coder's column: the status that satisfies the edge (`completed|failed` for `completion`). */
  required_status: string;
  current_status: StatusText;
  is_satisfied: boolean;
  requires: Requirement;
  declared_at: string;
  /** `first`: nobody declared this edge; the dependency runs before everything (`unitsync first`). */
  implicit?: "first";
}

/** `GET /v1/units/{unit}`: works for unregistered names too, as Coder's does. */
export interface UnitStatusResponse extends Partial<UnitTimestamps> {
  unit_name: string;
  status: StatusText;
  is_ready: boolean;
  reason?: string;
  /** For a target its dependencies are its members. */
  target?: boolean;
  first?: boolean;
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

/** `POST /v1/units/{target}/target`: declares the target and adds members (none is fine). */
export interface TargetRequest {
  members: string[];
}

export interface TargetResponse {
  unit_name: string;
  status: UnitStatus;
  /** The members this request added, in order (members it already had are not repeated). */
  added: string[];
  /** How many members it has in all. */
  members: number;
}

/** `POST /v1/units/{unit}/first`: no body. */
export interface FirstResponse {
  unit_name: string;
  /** Units that wait for it now (implicitly, pending). */
  held: number;
  /** Units already started when it was declared: left alone. */
  running: number;
}

/**
 * `POST /v1/units/{unit}/start`; `timeout_ms` 0 waits for ever. `progress_ms` is how
 * often a waiting start gets a `progress` line (default 30 s; 0 for never).
 */
export interface StartRequest {
  timeout_ms: number;
  progress_ms?: number;
  /** The client's process id and its script (UNITSYNC_SCRIPT), for a supervisor like `up`. */
  pid?: number;
  script?: string;
  /** A lock to take once the dependencies are satisfied: the unit starts when it holds it (`run --lock`). */
  lock?: string;
}

/** Why a waiting start still waits for one dependency. */
export interface WaitDetail {
  depends_on: string;
  requires: Requirement;
  current_status: StatusText;
  /** For a dependency nobody registered: the registered unit whose name is closest. */
  did_you_mean?: string;
  /** For a dependency that is itself pending: what it still waits for. */
  waiting_for?: string[];
  /** The dependency is a target: it waits for its members (none yet, when `waiting_for` is absent). */
  target?: boolean;
}

/**
 * The lines of the `application/x-ndjson` answer to a start. The first is `waiting`
 * or already final; `waiting` repeats when the set of unsatisfied dependencies grows,
 * `progress` comes every `progress_ms` while it waits; the last is `started` or `error`.
 */
export type StartLine =
  | { type: "waiting"; unsatisfied: string[]; details: WaitDetail[]; lock?: LockWait }
  | { type: "progress"; unsatisfied: string[]; details: WaitDetail[]; waited_ms: number; lock?: LockWait }
  | { type: "started"; dependencies: string[]; waited_for: string[]; lock?: string; traceparent?: string }
  | ErrorLine;

/** One entry of the event log; `seq` counts from 1 with no gaps, so a gap means entries were dropped. */
export type EventEntry = { seq: number; time: string; unit: string } & (
  | { type: "registered"; target?: true }
  | { type: "dependencies_added"; dependencies: string[]; requires: Requirement }
  | { type: "members_added"; members: string[] }
  | { type: "first_declared"; held: number; running: number }
  | { type: "dependencies_removed"; dependencies: string[]; because: string }
  | { type: "start_requested"; unsatisfied: string[] }
  | { type: "status_changed"; from: UnitStatus; to: UnitStatus; reason?: string; propagated?: boolean }
);

/** `GET /v1/graph`: every unit and every edge, dependency-only names included. */
export interface GraphResponse {
  units: Array<{ unit_name: string; status: StatusText; reason?: string; target?: boolean; first?: boolean }>;
  edges: Array<{ unit_name: string; depends_on: string; requires: Requirement; is_satisfied: boolean; implicit?: "first" }>;
}

/** One unit on `GET /v1/timeline`; every `_ms` is milliseconds after `origin`. */
export interface TimelineUnit {
  unit_name: string;
  status: UnitStatus;
  reason?: string;
  /** A target: its wait runs from its registration until its members were done. */
  target?: boolean;
  registered_ms: number;
  start_requested_ms?: number;
  started_ms?: number;
  ended_ms?: number;
  /** Time spent waiting for dependencies, and running; so far, for a unit in progress. */
  wait_ms?: number;
  run_ms?: number;
  in_progress: boolean;
  /** When `up` stopped the script still waiting on or running it; it is no longer in progress. */
  stopped_ms?: number;
}

/** A name on `GET /v1/timeline` that registered units depend on and nobody registered. */
export interface TimelineMissing {
  unit_name: string;
  needed_by: string[];
}

/** `GET /v1/timeline` */
export interface TimelineResponse {
  /** Time zero: the first registration, RFC 3339. */
  origin: string;
  /** When this answer was made, in ms after `origin`. */
  now_ms: number;
  /** When the last activity ended (`now_ms` while something is in progress). */
  end_ms: number;
  /** Units that waited, ran or ended, in the order their activity began. */
  units: TimelineUnit[];
  /** The chain that determined when the last unit finished, first link first. */
  critical_path: TimelineUnit[];
  /** Names depended on that nobody registered; absent when there are none. */
  missing?: TimelineMissing[];
  /** The missing name the critical path's first link waited for in vain. */
  critical_path_blocked_by?: string;
}

/** One span of `GET /v1/trace`, as far as clients read it; OTLP/JSON's other fields pass through. */
export interface TraceSpanHead {
  traceId: string;
  spanId: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

/** `GET /v1/trace`: the start-up as one OTLP/JSON `ExportTraceServiceRequest`. */
export interface TraceResponse {
  resourceSpans: { scopeSpans: { spans: TraceSpanHead[] }[] }[];
}

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
  | "unexpected_answer"
  | "too_slow"
  | "usage"
  | "internal";

/** The body of every non-2xx answer. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** Who asked for a lock, as its client said (any of them may be absent). */
export interface LockClaimant {
  pid?: number;
  script?: string;
  /** The unit a `run --lock` takes the lock for. */
  unit?: string;
}

/** A holder or waiter of a lock on `GET /v1/locks`. */
export interface LockClaimEntry extends LockClaimant {
  requested_at: string;
  /** Absent while it waits. */
  acquired_at?: string;
}

/** One entry of `GET /v1/locks`: every lock someone holds or waits for, by name. */
export interface LockEntry {
  lock: string;
  holder?: LockClaimEntry;
  /** In the order they asked, which is the order they will hold it. */
  waiters: LockClaimEntry[];
}

/** What a waiting start (with a lock) or lock request waits for once its dependencies are satisfied. */
export interface LockWait {
  lock: string;
  held_by: LockClaimant;
  /** 1 for the next in line. */
  position: number;
}

/** `POST /v1/locks/{lock}`: `timeout_ms` 0 waits for ever; the answer stays open while the lock is held. */
export interface LockRequest {
  timeout_ms: number;
  pid?: number;
  script?: string;
}

/**
 * The lines of the `application/x-ndjson` answer to a lock request: `waiting` when someone
 * holds it, then `acquired`, or an `error` (a time-out). The lock is held from `acquired`
 * until the client closes the connection: its process exiting, or being killed, releases it.
 */
export type LockLine = ({ type: "waiting" } & LockWait) | { type: "acquired"; lock: string; waited_ms: number } | ErrorLine;

/** Any entry of the event log: a unit's event or a lock's. */
export type LoggedEvent = EventEntry | LockEventEntry;

/** An event of a lock: someone waits for it, takes it, or lets it go. */
export type LockEventEntry = { seq: number; time: string; lock: string } & LockClaimant &
  (
    | { type: "lock_waiting"; held_by: LockClaimant }
    | { type: "lock_acquired"; waited_ms: number }
    | { type: "lock_released"; held_ms: number }
    /** A waiter gave up before its turn: it timed out, or its client went away. */
    | { type: "lock_left"; waited_ms: number }
  );

/**
 * `POST /v1/supervision`: what a supervisor running the scripts (`up`, with its server in a
 * process of its own) reads of the server. A read, despite the POST: the question carries a
 * list. Answered at once, or with `after`, once the state has changed past that version (or
 * after a few seconds without a change, with the same version).
 */
export interface SupervisionRequest {
  /** Wait for a change past this version (from an earlier answer); absent: answer now. */
  after?: number;
  /** Also what each waiting start waits for, and who started each unit. */
  details?: boolean;
  /** Also the timeline, taken now: units started by a stopped script end when it was stopped. */
  timeline?: { stopped_scripts?: StoppedScript[] };
}

/** A script the supervisor stopped, and when (epoch milliseconds on the server's clock). */
export interface StoppedScript {
  script: string;
  at: number;
}

export interface SupervisionResponse {
  /** Goes up with every change a supervisor may care for: units, waiting starts, locks. */
  version: number;
  /** The start-up's root span, for what runs the scripts. */
  traceparent: string;
  /** The starts waiting right now, with the pid and script each client gave. */
  waiting: SupervisedStart[];
  locks: LockEntry[];
  /** With `details` or `timeline`: the script whose start started each unit, where one said. */
  starters?: { unit: string; script: string }[];
  /** With `timeline`. */
  timeline?: TimelineResponse;
  /** With `timeline`: what each pending unit waits for. */
  unsatisfied?: { unit: string; waiting_for: string[] }[];
}

export interface SupervisedStart {
  unit: string;
  pid?: number;
  script?: string;
  /** With `details`: what it waits for, as its waiting line says. */
  details?: WaitDetail[];
}
