import type {
  CompleteResponse,
  ErrorBody,
  ErrorCode,
  ErrorLine,
  EventEntry,
  GraphResponse,
  LockClaimant,
  LockEntry,
  LockEventEntry,
  LockLine,
  LockWait,
  LoggedEvent,
  PingResponse,
  Requirement,
  StartLine,
  StatusText,
  SupervisionResponse,
  TargetResponse,
  FirstResponse,
  TimelineResponse,
  TimelineMissing,
  TraceResponse,
  TimelineUnit,
  UnitListEntry,
  UnitStatusResponse,
  WantResponse,
} from "../protocol/index.ts";

// The client prints what the server says and computes with it: an answer of the wrong shape
// would surface as a TypeError deep in a renderer, or as `undefined` in a line of output. So
// every answer is checked against the protocol before anyone reads it.
//
// The shapes are data, read by one function, `check`: a client process lives for a few
// milliseconds, and building the same shapes from combinator functions cost it 1.4 ms (each
// function's first call is slow), where plain object literals cost next to nothing. The types
// below tie each shape to its type in api.ts, so the compiler says when either changes.

/** The kinds of a single value. */
type Leaf =
  | "text" // one line of text: no control characters
  | "name" // a unit name: one line of text, not empty
  | "time" // an RFC 3339 time
  | "number" // any finite number
  | "count" // a whole number, 0 or more
  | "boolean"
  | "errorCode"; // an error code that comes over the wire

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

/**
 * The shape that fits values of type `T`: a leaf kind, `["oneOf", {every member: true}]` for a
 * union of strings, `["array", item]`, `["byType", {type: fields}]` for a union of objects with
 * a `type` field, or the object's fields, each optional one as `["optional", shape]`.
 */
export type Shape<T> = [T] extends [ErrorCode]
  ? [ErrorCode] extends [T]
    ? "errorCode"
    : OneOf<T & string>
  : [T] extends [boolean]
    ? "boolean"
    : [T] extends [number]
      ? "number" | "count"
      : [T] extends [string]
        ? string extends T
          ? "text" | "name" | "time"
          : OneOf<T>
        : [T] extends [readonly (infer Item)[]]
          ? readonly ["array", Shape<Item>]
          : true extends IsUnion<T>
            ? [T] extends [{ type: string }]
              ? readonly ["byType", { readonly [K in T["type"]]: Fields<Extract<T, { type: K }>> }]
              : never
            : Fields<T>;

/** Every member of `T`, no more: the phantom makes a shape for a wider union not fit a narrower one. */
type OneOf<T extends string> = readonly ["oneOf", { readonly [K in T]: true }] & { readonly members?: (member: T) => T };

type Fields<T> = {
  readonly [K in keyof T]-?: undefined extends T[K] ? readonly ["optional", Shape<Exclude<T[K], undefined>>] : Shape<T[K]>;
};

/** Any shape, as `check` reads it. */
type AnyShape = Leaf | readonly [string, unknown] | { readonly [field: string]: AnyShape };

/**
 * Checks `value` against `shape`: undefined when it fits, otherwise where and what is wrong,
 * as `.units[3].status: expected one of ..., got "x"` (`: expected ...` for the value itself).
 * Fields the protocol does not name are allowed: a newer server may add some.
 */
export function check<T>(shape: Shape<T>, value: unknown): string | undefined {
  return checkAny(shape as AnyShape, value);
}

function checkAny(shape: AnyShape, v: unknown): string | undefined {
  if (typeof shape === "string") return checkLeaf(shape, v);
  if (Array.isArray(shape)) {
    const [form, inner] = shape as readonly [string, unknown];
    if (form === "optional") return v === undefined ? undefined : checkAny(inner as AnyShape, v);
    if (form === "oneOf") {
      return typeof v === "string" && Object.hasOwn(inner as object, v) ? undefined : expected(`one of ${Object.keys(inner as object).join(", ")}`, v);
    }
    if (form === "array") {
      if (!Array.isArray(v)) return expected("an array", v);
      for (let i = 0; i < v.length; i++) {
        const problem = checkAny(inner as AnyShape, v[i]);
        if (problem !== undefined) return `[${i}]${problem}`;
      }
      return undefined;
    }
    // byType: the `type` field says which fields to expect.
    if (!isObject(v)) return expected("an object", v);
    const variants = inner as Record<string, AnyShape>;
    const type = v.type;
    if (typeof type !== "string" || !Object.hasOwn(variants, type)) return `.type${expected(`one of ${Object.keys(variants).join(", ")}`, type)}`;
    return checkAny(variants[type]!, v);
  }
  if (!isObject(v)) return expected("an object", v);
  for (const field in shape as object) {
    const problem = checkAny((shape as Record<string, AnyShape>)[field]!, v[field]);
    if (problem !== undefined) return `.${field}${problem}`;
  }
  return undefined;
}

function checkLeaf(leaf: Leaf, v: unknown): string | undefined {
  switch (leaf) {
    case "text":
      return typeof v !== "string" ? expected("a string", v) : hasControl(v) ? expected("one line of text", v) : undefined;
    case "name":
      return checkLeaf("text", v) ?? (v === "" ? expected("a unit name", v) : undefined);
    case "time":
      return typeof v === "string" && isTime(v) ? undefined : expected("an RFC 3339 time", v);
    case "number":
      return typeof v === "number" && Number.isFinite(v) ? undefined : expected("a number", v);
    case "count":
      return Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : expected("a whole number", v);
    case "boolean":
      return typeof v === "boolean" ? undefined : expected("true or false", v);
    case "errorCode":
      return typeof v === "string" && WIRE_CODES[v as ErrorCode] === true ? undefined : expected("a known error code", v);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const expected = (what: string, value: unknown) => `: expected ${what}, got ${describe(value)}`;

/** What a wrong value was, short and in plain ASCII, for a one-line message. */
function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object" && value !== null) return "an object";
  return ascii(JSON.stringify(value), 40);
}

/** `text` cut to `max` characters, with everything outside printable ASCII escaped. */
export function ascii(text: string, max: number): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  return cut.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

// The checks below loop over characters rather than use regular expressions: the first
// regular expression a process runs costs it about 0.4 ms, a tenth of a client's run.

/**
 * True when `s` holds a C0 or C1 control character or DEL: a real server sends none (names
 * refuse them, reasons are flattened), and one would break the line it is printed in.
 */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

/** `s` from `at` follows `pattern`, where `9` stands for any digit. */
function follows(s: string, at: number, pattern: string): boolean {
  if (s.length - at < pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const c = s.charCodeAt(at + i);
    const p = pattern.charCodeAt(i);
    if (p === 57 ? c < 48 || c > 57 : c !== p) return false;
  }
  return true;
}

/** RFC 3339 as the server writes it, `2025-01-31T12:00:00.123Z`; fractions and offsets optional. */
function isTime(s: string): boolean {
  if (!follows(s, 0, "9999-99-99T99:99:99")) return false;
  let end = 19;
  if (s.charCodeAt(19) === 46) {
    end = 20;
    while (follows(s, end, "9")) end++;
    if (end === 20) return false;
  }
  if (s.length === end + 1) return s.charCodeAt(end) === 90; // Z
  const sign = s.charCodeAt(end);
  return s.length === end + 6 && (sign === 43 || sign === 45) && follows(s, end + 1, "99:99");
}

// Which codes come over the wire; a Record, so the compiler says when api.ts gains one. The
// client's own codes never do: a server sending `usage` would have the CLI blame its arguments.
const WIRE_CODES: Record<ErrorCode, boolean> = {
  invalid_name: true,
  not_registered: true,
  cycle: true,
  wrong_state: true,
  conflict: true,
  dependency_failed: true,
  limit_exceeded: true,
  is_target: true,
  bad_request: true,
  not_found: true,
  method_not_allowed: true,
  payload_too_large: true,
  timeout: true,
  server_closing: true,
  too_slow: true,
  internal: true,
  server_unreachable: false,
  unexpected_answer: false,
  usage: false,
};

const STATUS: OneOf<UnitListEntry["status"]> = ["oneOf", { pending: true, started: true, completed: true, failed: true }];
const STATUS_TEXT: OneOf<StatusText> = ["oneOf", { pending: true, started: true, completed: true, failed: true, "not registered": true }];
const REQUIREMENT: OneOf<Requirement> = ["oneOf", { success: true, completion: true, started: true }];
const NAMES = ["array", "name"] as const;
const IMPLICIT: OneOf<"first"> = ["oneOf", { first: true }];
const ERROR = { code: "errorCode", message: "text" } as const;

/** The body of every non-2xx answer. */
export const ERROR_BODY: Shape<ErrorBody> = { error: ERROR };

export const PING: Shape<PingResponse> = {
  version: "text",
  pid: "count",
  started_at: "time",
  uptime_ms: "number",
  units: "count",
  recovered: ["optional", { from: "text", operations: "count", units: "count", dropped_torn_line: "boolean", took_ms: "number" }],
};

export const UNIT_LIST: Shape<UnitListEntry[]> = [
  "array",
  {
    unit_name: "name",
    status: STATUS,
    is_ready: "boolean",
    reason: ["optional", "text"],
    target: ["optional", "boolean"],
    first: ["optional", "boolean"],
    registered_at: "time",
    start_requested_at: ["optional", "time"],
    started_at: ["optional", "time"],
    completed_at: ["optional", "time"],
    failed_at: ["optional", "time"],
  },
];

export const UNIT_STATUS: Shape<UnitStatusResponse> = {
  unit_name: "name",
  status: STATUS_TEXT,
  is_ready: "boolean",
  reason: ["optional", "text"],
  target: ["optional", "boolean"],
  first: ["optional", "boolean"],
  registered_at: ["optional", "time"],
  start_requested_at: ["optional", "time"],
  started_at: ["optional", "time"],
  completed_at: ["optional", "time"],
  failed_at: ["optional", "time"],
  dependencies: [
    "array",
    {
      depends_on: "name",
      required_status: "text",
      current_status: STATUS_TEXT,
      is_satisfied: "boolean",
      requires: REQUIREMENT,
      declared_at: "time",
      implicit: ["optional", IMPLICIT],
    },
  ],
};

export const WANT: Shape<WantResponse> = { unit_name: "name", dependencies: NAMES };

export const COMPLETE: Shape<CompleteResponse> = { unit_name: "name", status: STATUS, reason: ["optional", "text"] };

export const TARGET: Shape<TargetResponse> = { unit_name: "name", status: STATUS, added: NAMES, members: "count" };

export const FIRST: Shape<FirstResponse> = { unit_name: "name", held: "count", running: "count" };

const WAIT_DETAILS = [
  "array",
  {
    depends_on: "name",
    requires: REQUIREMENT,
    current_status: STATUS_TEXT,
    did_you_mean: ["optional", "name"],
    waiting_for: ["optional", NAMES],
    target: ["optional", "boolean"],
  },
] as const;

const CLAIMANT: Shape<LockClaimant> = { pid: ["optional", "count"], script: ["optional", "text"], unit: ["optional", "name"] };

const LOCK_WAIT: Shape<LockWait> = { lock: "name", held_by: CLAIMANT, position: "count" };

/** One line of the answer to a start. */
export const START_LINE: Shape<StartLine> = [
  "byType",
  {
    waiting: { type: ["oneOf", { waiting: true }], unsatisfied: NAMES, details: WAIT_DETAILS, lock: ["optional", LOCK_WAIT] },
    progress: {
      type: ["oneOf", { progress: true }],
      unsatisfied: NAMES,
      details: WAIT_DETAILS,
      waited_ms: "number",
      lock: ["optional", LOCK_WAIT],
    },
    started: { type: ["oneOf", { started: true }], dependencies: NAMES, waited_for: NAMES, lock: ["optional", "name"], traceparent: ["optional", "text"] },
    error: { type: ["oneOf", { error: true }], error: ERROR },
  },
];

const EVENT_TYPES = {
  registered: { seq: "count", time: "time", unit: "name", type: ["oneOf", { registered: true }], target: ["optional", "boolean"] },
  dependencies_added: {
    seq: "count",
    time: "time",
    unit: "name",
    type: ["oneOf", { dependencies_added: true }],
    dependencies: NAMES,
    requires: REQUIREMENT,
  },
  start_requested: { seq: "count", time: "time", unit: "name", type: ["oneOf", { start_requested: true }], unsatisfied: NAMES },
  status_changed: {
    seq: "count",
    time: "time",
    unit: "name",
    type: ["oneOf", { status_changed: true }],
    from: STATUS,
    to: STATUS,
    reason: ["optional", "text"],
    propagated: ["optional", "boolean"],
  },
  members_added: { seq: "count", time: "time", unit: "name", type: ["oneOf", { members_added: true }], members: NAMES },
  first_declared: { seq: "count", time: "time", unit: "name", type: ["oneOf", { first_declared: true }], held: "count", running: "count" },
  dependencies_removed: {
    seq: "count",
    time: "time",
    unit: "name",
    type: ["oneOf", { dependencies_removed: true }],
    dependencies: NAMES,
    because: "name",
  },
  ...lockEventTypes(),
} as const;

/** The lock events' shapes, apart so the unit events' read as before. */
function lockEventTypes() {
  const claim = { seq: "count", time: "time", lock: "name", ...CLAIMANT } as const;
  const types: { [K in LockEventEntry["type"]]: Shape<Extract<LockEventEntry, { type: K }>> } = {
    lock_waiting: { ...claim, type: ["oneOf", { lock_waiting: true }], held_by: CLAIMANT },
    lock_acquired: { ...claim, type: ["oneOf", { lock_acquired: true }], waited_ms: "number" },
    lock_released: { ...claim, type: ["oneOf", { lock_released: true }], held_ms: "number" },
    lock_left: { ...claim, type: ["oneOf", { lock_left: true }], waited_ms: "number" },
  };
  return types;
}

export const EVENTS: Shape<LoggedEvent[]> = ["array", ["byType", EVENT_TYPES]];

/** One line of `events --follow`: an event, or the error that ends the stream. */
export const EVENT_LINE: Shape<LoggedEvent | ErrorLine> = [
  "byType",
  { ...EVENT_TYPES, error: { type: ["oneOf", { error: true }], error: ERROR } },
];

const LOCK_CLAIM_ENTRY = { ...CLAIMANT, requested_at: "time", acquired_at: ["optional", "time"] } as const;

/** `GET /v1/locks` */
export const LOCKS: Shape<LockEntry[]> = ["array", { lock: "name", holder: ["optional", LOCK_CLAIM_ENTRY], waiters: ["array", LOCK_CLAIM_ENTRY] }];

/** One line of the answer to a lock request. */
export const LOCK_LINE: Shape<LockLine> = [
  "byType",
  {
    waiting: { type: ["oneOf", { waiting: true }], ...LOCK_WAIT },
    acquired: { type: ["oneOf", { acquired: true }], lock: "name", waited_ms: "number" },
    error: { type: ["oneOf", { error: true }], error: ERROR },
  },
];

export const GRAPH: Shape<GraphResponse> = {
  units: [
    "array",
    { unit_name: "name", status: STATUS_TEXT, reason: ["optional", "text"], target: ["optional", "boolean"], first: ["optional", "boolean"] },
  ],
  edges: [
    "array",
    { unit_name: "name", depends_on: "name", requires: REQUIREMENT, is_satisfied: "boolean", implicit: ["optional", IMPLICIT] },
  ],
};

const TIMELINE_UNIT: Shape<TimelineUnit> = {
  unit_name: "name",
  status: STATUS,
  reason: ["optional", "text"],
  target: ["optional", "boolean"],
  registered_ms: "number",
  start_requested_ms: ["optional", "number"],
  started_ms: ["optional", "number"],
  ended_ms: ["optional", "number"],
  wait_ms: ["optional", "number"],
  run_ms: ["optional", "number"],
  in_progress: "boolean",
  stopped_ms: ["optional", "number"],
};

const TIMELINE_MISSING: Shape<TimelineMissing> = {
  unit_name: "name",
  needed_by: NAMES,
};

export const TIMELINE: Shape<TimelineResponse> = {
  origin: "time",
  now_ms: "number",
  end_ms: "number",
  units: ["array", TIMELINE_UNIT],
  critical_path: ["array", TIMELINE_UNIT],
  missing: ["optional", ["array", TIMELINE_MISSING]],
  critical_path_blocked_by: ["optional", "name"],
};

/** `POST /v1/supervision` */
export const SUPERVISION: Shape<SupervisionResponse> = {
  version: "count",
  traceparent: "text",
  waiting: ["array", { unit: "name", pid: ["optional", "count"], script: ["optional", "text"], details: ["optional", WAIT_DETAILS] }],
  locks: LOCKS,
  starters: ["optional", ["array", { unit: "name", script: "text" }]],
  timeline: ["optional", TIMELINE],
  unsatisfied: ["optional", ["array", { unit: "name", waiting_for: NAMES }]],
};

/** Only the spans' identities and times are read; the rest of OTLP/JSON is printed as it came. */
export const TRACE: Shape<TraceResponse> = {
  resourceSpans: [
    "array",
    {
      scopeSpans: [
        "array",
        { spans: ["array", { traceId: "text", spanId: "text", name: "text", startTimeUnixNano: "text", endTimeUnixNano: "text" }] },
      ],
    },
  ],
};
