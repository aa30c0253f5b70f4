import type {
  CompleteResponse,
  DependencyEntry,
  ErrorBody,
  ErrorCode,
  ErrorLine,
  EventEntry,
  GraphResponse,
  PingResponse,
  StartLine,
  TimelineResponse,
  TimelineUnit,
  UnitListEntry,
  UnitStatusResponse,
  WaitDetail,
  WantResponse,
} from "../protocol/index.ts";

// The client prints what the server says and computes with it: an answer of the wrong shape
// would surface as a TypeError deep in a renderer, or as `undefined` in a line of output.
// So every answer is checked against the protocol before anyone reads it. Hand-written and
// cheap: a client process lives for a few milliseconds.

/**
 * Checks a value against one shape of the protocol: undefined when it fits, otherwise what is
 * wrong and where, as `.units[3].status: expected ...`. `T` is the type that fits; it is
 * invariant, so a shape written for a field of `api.ts` must match that field's type exactly.
 */
export type Shape<T> = ((value: unknown) => string | undefined) & { readonly fits?: (value: T) => T };

const shape = <T>(check: (value: unknown) => string | undefined): Shape<T> => check;

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

const expected = (what: string, value: unknown) => `: expected ${what}, got ${describe(value)}`;

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

/** One line of text. */
const text = shape<string>((v) =>
  typeof v !== "string" ? expected("a string", v) : hasControl(v) ? expected("one line of text", v) : undefined,
);

/** A unit name: one line of text, not empty. */
const name = shape<string>((v) => text(v) ?? (v === "" ? expected("a unit name", v) : undefined));

/** `s` from `at` follows `pattern`, where `9` stands for any digit. */
function follows(s: string, at: number, pattern: string): boolean {
  if (s.length - at < pattern.length) return false;
  for (let i = 0; i < pattern.length; i++) {
    const c = s.charCodeAt(at + i);
    if (pattern[i] === "9" ? c < 48 || c > 57 : c !== pattern.charCodeAt(i)) return false;
  }
  return true;
}

/** RFC 3339 as the server writes it, `2025-01-31T12:00:00.123Z`; fractions and offsets optional. */
function isTime(s: string): boolean {
  if (!follows(s, 0, "9999-99-99T99:99:99")) return false;
  let end = 19;
  if (s[19] === ".") {
    end = 20;
    while (follows(s, end, "9")) end++;
    if (end === 20) return false;
  }
  const zone = s.slice(end);
  return zone === "Z" || (zone.length === 6 && (zone[0] === "+" || zone[0] === "-") && follows(zone, 1, "99:99"));
}

const time = shape<string>((v) => (typeof v === "string" && isTime(v) ? undefined : expected("an RFC 3339 time", v)));

const boolean = shape<boolean>((v) => (typeof v === "boolean" ? undefined : expected("true or false", v)));

/** Any finite number: milliseconds on the timeline. */
const number = shape<number>((v) => (typeof v === "number" && Number.isFinite(v) ? undefined : expected("a number", v)));

/** A whole number, 0 or more: counts, process ids, event numbers. */
const count = shape<number>((v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : expected("a whole number", v)));

function oneOf<const T extends readonly string[]>(...values: T): Shape<T[number]> {
  return named(`one of ${values.join(", ")}`, ...values);
}

function named<const T extends readonly string[]>(what: string, ...values: T): Shape<T[number]> {
  return shape((v) => (values.includes(v as string) ? undefined : expected(what, v)));
}

function optional<T>(inner: Shape<T>): Shape<T | undefined> {
  return shape((v) => (v === undefined ? undefined : inner(v)));
}

function array<T>(item: Shape<T>): Shape<T[]> {
  return shape((v) => {
    if (!Array.isArray(v)) return expected("an array", v);
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i]);
      if (problem !== undefined) return `[${i}]${problem}`;
    }
    return undefined;
  });
}

/** An object with these fields; fields the protocol does not name yet are allowed, for newer servers. */
function object<T>(fields: { [K in keyof T]-?: Shape<T[K]> }): Shape<T> {
  const entries = Object.entries(fields) as Array<[string, Shape<unknown>]>;
  return shape((v) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return expected("an object", v);
    for (const [key, field] of entries) {
      const problem = field((v as Record<string, unknown>)[key]);
      if (problem !== undefined) return `.${key}${problem}`;
    }
    return undefined;
  });
}

/** One of several objects told apart by their `type` field. */
function byType<T extends { type: string }>(variants: { [K in T["type"]]: Shape<Extract<T, { type: K }>> }): Shape<T> {
  const known = variants as Record<string, Shape<T>>;
  const types = `one of ${Object.keys(variants).join(", ")}`;
  return shape((v) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return expected("an object", v);
    const type = (v as { type?: unknown }).type;
    const variant = typeof type === "string" && Object.hasOwn(known, type) ? known[type]! : undefined;
    return variant ? variant(v) : `.type${expected(types, type)}`;
  });
}

const status = oneOf("pending", "started", "completed", "failed");
const statusText = oneOf("pending", "started", "completed", "failed", "not registered");
const requirement = oneOf("success", "completion", "started");

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
const errorCode = named(
  "a known error code",
  ...(Object.keys(WIRE_CODES) as ErrorCode[]).filter((code) => WIRE_CODES[code]),
);

const error = object<ErrorBody["error"]>({ code: errorCode, message: text });

/** The body of every non-2xx answer. */
export const ERROR_BODY = object<ErrorBody>({ error });

export const PING = object<PingResponse>({
  version: text,
  pid: count,
  started_at: time,
  uptime_ms: number,
  units: count,
});

export const UNIT_LIST = array(
  object<UnitListEntry>({
    unit_name: name,
    status,
    is_ready: boolean,
    reason: optional(text),
    registered_at: time,
    start_requested_at: optional(time),
    started_at: optional(time),
    completed_at: optional(time),
    failed_at: optional(time),
  }),
);

export const UNIT_STATUS = object<UnitStatusResponse>({
  unit_name: name,
  status: statusText,
  is_ready: boolean,
  reason: optional(text),
  registered_at: optional(time),
  start_requested_at: optional(time),
  started_at: optional(time),
  completed_at: optional(time),
  failed_at: optional(time),
  dependencies: array(
    object<DependencyEntry>({
      depends_on: name,
      required_status: text,
      current_status: statusText,
      is_satisfied: boolean,
      requires: requirement,
      declared_at: time,
    }),
  ),
});

export const WANT = object<WantResponse>({ unit_name: name, dependencies: array(name) });

export const COMPLETE = object<CompleteResponse>({ unit_name: name, status, reason: optional(text) });

const waitDetails = array(
  object<WaitDetail>({
    depends_on: name,
    requires: requirement,
    current_status: statusText,
    did_you_mean: optional(name),
    waiting_for: optional(array(name)),
  }),
);

const errorLine = object<ErrorLine>({ type: oneOf("error"), error });

type Line<K extends StartLine["type"]> = Extract<StartLine, { type: K }>;

/** One line of the answer to a start. */
export const START_LINE = byType<StartLine>({
  waiting: object<Line<"waiting">>({ type: oneOf("waiting"), unsatisfied: array(name), details: waitDetails }),
  progress: object<Line<"progress">>({ type: oneOf("progress"), unsatisfied: array(name), details: waitDetails, waited_ms: number }),
  started: object<Line<"started">>({ type: oneOf("started"), dependencies: array(name), waited_for: array(name) }),
  error: errorLine,
});

type Event<K extends EventEntry["type"]> = Extract<EventEntry, { type: K }>;
const common = { seq: count, time, unit: name };

const events = {
  registered: object<Event<"registered">>({ ...common, type: oneOf("registered") }),
  dependencies_added: object<Event<"dependencies_added">>({
    ...common,
    type: oneOf("dependencies_added"),
    dependencies: array(name),
    requires: requirement,
  }),
  start_requested: object<Event<"start_requested">>({ ...common, type: oneOf("start_requested"), unsatisfied: array(name) }),
  status_changed: object<Event<"status_changed">>({
    ...common,
    type: oneOf("status_changed"),
    from: status,
    to: status,
    reason: optional(text),
    propagated: optional(boolean),
  }),
};

export const EVENTS = array(byType<EventEntry>(events));

/** One line of `events --follow`: an event, or the error that ends the stream. */
export const EVENT_LINE = byType<EventEntry | ErrorLine>({ ...events, error: errorLine });

export const GRAPH = object<GraphResponse>({
  units: array(object<GraphResponse["units"][number]>({ unit_name: name, status: statusText, reason: optional(text) })),
  edges: array(
    object<GraphResponse["edges"][number]>({ unit_name: name, depends_on: name, requires: requirement, is_satisfied: boolean }),
  ),
});

const timelineUnit = object<TimelineUnit>({
  unit_name: name,
  status,
  reason: optional(text),
  registered_ms: number,
  start_requested_ms: optional(number),
  started_ms: optional(number),
  ended_ms: optional(number),
  wait_ms: optional(number),
  run_ms: optional(number),
  in_progress: boolean,
});

export const TIMELINE = object<TimelineResponse>({
  origin: time,
  now_ms: number,
  end_ms: number,
  units: array(timelineUnit),
  critical_path: array(timelineUnit),
});
