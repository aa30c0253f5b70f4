import {
  REQUIREMENTS,
  notUtf8,
  validateUnitName,
  type Clock,
  type Requirement,
  type UnitGraph,
} from "../graph/index.ts";
import {
  API_PREFIX,
  UnitsyncError,
  VERSION,
  type CompleteResponse,
  type ErrorLine,
  type LoggedEvent,
  type LockLine,
  type FirstResponse,
  type PingResponse,
  type Recovery,
  type TargetResponse,
  type StartLine,
  type WantResponse,
} from "../protocol/index.ts";
import type { EventLog } from "./events.ts";
import { lockList, type LockHolds } from "./lock-holds.ts";
import type { LockTable } from "./locks.ts";
import type { Attribute } from "./otlp/trace.ts";
import { supervisionOf, supervisionQuestion, type ChangeCount } from "./supervision.ts";
import type { StartupTracer } from "./tracer.ts";
import type { ServerView } from "./view.ts";
import { errorResponse, jsonResponse, ndjsonResponse, readJsonObject, toErrorBody } from "./http.ts";
import { DEFAULT_PROGRESS_MS, type StartWaiters } from "./waiters.ts";
import { graphOf, iso, timelineOf, unitList, unitStatusOf } from "./wire.ts";

/** Longest failure reason kept; reasons come from scripts and end up in one-line messages. */
export const MAX_REASON_LENGTH = 1_000;

/** What `start` waits when a request names no time-out: Coder's default. */
export const DEFAULT_START_TIMEOUT_MS = 5 * 60_000;

/** A follower of the event stream that stops reading is cut off after this many unread lines. */
export const MAX_FOLLOW_BACKLOG = 10_000;

/** What the handlers work on: one per server. */
export interface RouteContext {
  graph: UnitGraph;
  waiters: StartWaiters;
  events: EventLog;
  /** The graph's clock, and when the server started on it. */
  clock: Clock;
  startedAt: number;
  /** Clients allowed to follow the event stream at once. */
  maxFollowers: number;
  /** The named locks, and the `unitsync lock` requests on them. */
  locks: LockTable;
  lockHolds: LockHolds;
  /** What the server recovered from an earlier one's journal, for `ping`. */
  recovered?: Recovery;
  /** The start-up's trace ids; `GET /v1/trace` encodes its spans. */
  tracer: StartupTracer;
  /** The resource the spans describe, as the exporter sends it. */
  resource: () => Attribute[];
  /** The read-only view a supervisor's questions are answered from, and the count of its changes. */
  view: ServerView;
  changes: ChangeCount;
}

/** The context plus what the handlers count between requests. */
interface Served extends RouteContext {
  /** Clients following the events now; the server's own log follows too, and is not one of them. */
  followingClients: number;
}

/**
 * Handles one route; `unit` is the decoded name in the path (empty when it has none) and
 * `body` the request's JSON object (`{}` for a GET). It reads and changes state before its
 * first await (most never await): the state is settled just before it runs, and nothing may
 * slip in between.
 */
type Handler = (served: Served, request: Request, unit: string, url: URL, body: Record<string, unknown>) => Response | Promise<Response>;

interface Route {
  /** Matched against the path after the API prefix; a group captures the unit name. */
  path: RegExp;
  GET?: Handler;
  POST?: Handler;
}

const ROUTES: Route[] = [
  { path: /^\/ping$/, GET: ping },
  { path: /^\/events$/, GET: eventLog },
  { path: /^\/graph$/, GET: ({ graph }) => jsonResponse(graphOf(graph)) },
  { path: /^\/timeline$/, GET: ({ graph, clock }) => jsonResponse(timelineOf(graph, clock())) },
  { path: /^\/trace$/, GET: trace },
  { path: /^\/units$/, GET: ({ graph }) => jsonResponse(unitList(graph)) },
  { path: /^\/units\/([^/]+)$/, GET: unitStatus },
  { path: /^\/units\/([^/]+)\/dependencies$/, POST: declareDependencies },
  { path: /^\/units\/([^/]+)\/start$/, POST: start },
  { path: /^\/units\/([^/]+)\/complete$/, POST: complete },
  { path: /^\/units\/([^/]+)\/fail$/, POST: fail },
  { path: /^\/locks$/, GET: ({ locks }) => jsonResponse(lockList(locks)) },
  { path: /^\/locks\/([^/]+)$/, POST: holdLock },
  { path: /^\/units\/([^/]+)\/target$/, POST: declareTarget },
  { path: /^\/units\/([^/]+)\/first$/, POST: declareFirst },
  { path: /^\/supervision$/, POST: supervision },
];

/** Builds the request handler: HTTP in, graph calls, JSON or NDJSON out. */
export function createRouter(context: RouteContext): (request: Request) => Promise<Response> {
  const served: Served = { ...context, followingClients: 0 };
  return async function handle(request) {
    // A Host header that makes no URL (`Host: a b`, or none on HTTP/1.0) is the client's fault.
    const url = URL.parse(request.url);
    if (!url) return errorResponse("bad_request", "the request's URL is not valid; check its Host header");
    const path = url.pathname;
    if (!path.startsWith(`${API_PREFIX}/`)) {
      return errorResponse("not_found", `no route ${path}; every route is under ${API_PREFIX}/`);
    }
    const tail = path.slice(API_PREFIX.length);
    for (const route of ROUTES) {
      const match = route.path.exec(tail);
      if (!match) continue;
      const method = request.method === "GET" || request.method === "POST" ? request.method : undefined;
      const handler = method && route[method];
      if (!handler) {
        const allow = (["GET", "POST"] as const).filter((m) => route[m]).join(", ");
        return errorResponse("method_not_allowed", `${request.method} is not allowed on ${path}; use ${allow}`, { allow });
      }
      try {
        const unit = match[1] === undefined ? "" : decodeUnitName(match[1]);
        const body = method === "POST" ? await readJsonObject(request) : {};
        // Waiters woken by the previous request's change move first: every answer sees them moved.
        served.waiters.settle();
        return await handler(served, request, unit, url, body);
      } catch (error) {
        const { code, message } = toErrorBody(error);
        return errorResponse(code, message);
      }
    }
    return errorResponse("not_found", `no route ${request.method} ${path}`);
  };
}

function ping({ graph, clock, startedAt, recovered }: Served): Response {
  return jsonResponse({
    version: VERSION,
    pid: process.pid,
    started_at: iso(startedAt),
    uptime_ms: Math.round(clock() - startedAt),
    units: graph.size,
    ...(recovered ? { recovered } : {}),
  } satisfies PingResponse);
}

/** The start-up as OTLP/JSON, encoded by the exporter's own code, loaded on first use. */
async function trace({ tracer, resource }: Served): Promise<Response> {
  // The state is read before the first await, like every handler's: the encoder loads after.
  const spans = tracer.snapshot();
  const { otlpJson, SCOPE } = await import("./otlp/json.ts");
  return jsonResponse(otlpJson({ resource: resource(), scope: SCOPE, spans }));
}

function unitStatus({ graph }: Served, _request: Request, unit: string): Response {
  validateUnitName(unit);
  return jsonResponse(unitStatusOf(graph, unit));
}

function eventLog(served: Served, request: Request, _unit: string, url: URL): Response {
  const query = url.searchParams;
  const after = Number(query.get("after") ?? 0);
  if (!Number.isInteger(after) || after < 0) {
    throw new UnitsyncError("bad_request", `"after" must be an event number, 0 or more`);
  }
  if (!isTrue(query.get("follow"))) return jsonResponse(served.events.since(after));
  if (served.followingClients >= served.maxFollowers) {
    throw new UnitsyncError("limit_exceeded", `${served.followingClients} clients already follow the events, the most this server allows`);
  }
  return ndjsonResponse<LoggedEvent | ErrorLine>(request, (sink) => {
    const endWith = (error: ErrorLine["error"]) => {
      sink.write({ type: "error", error });
      sink.end();
    };
    served.followingClients++;
    let following = true;
    const stop = () => {
      if (following) served.followingClients--;
      following = false;
      unfollow();
    };
    const unfollow = served.events.follow(
      after,
      (entry) => {
        if (sink.gone) return void stop();
        if (sink.backlog < MAX_FOLLOW_BACKLOG) return void sink.write(entry);
        stop();
        endWith({ code: "too_slow", message: "the client stopped reading events" });
      },
      endWith,
    );
    return stop;
  });
}

/** A supervisor's question (`up`): answered now, or once the state changed past the version it names. */
async function supervision({ view, changes, tracer }: Served, request: Request, _unit: string, _url: URL, body: Record<string, unknown>): Promise<Response> {
  const question = supervisionQuestion(body);
  if (question.after !== undefined) await changes.past(question.after, request.signal);
  return jsonResponse(supervisionOf(view, changes.version, tracer.rootTraceparent, question));
}

function declareDependencies({ graph }: Served, _request: Request, unit: string, _url: URL, body: Record<string, unknown>): Response {
  const dependsOn = body.depends_on;
  if (!Array.isArray(dependsOn) || !dependsOn.every((d) => typeof d === "string")) {
    throw new UnitsyncError("bad_request", `"depends_on" must be an array of unit names`);
  }
  const requires = body.requires ?? "success";
  if (!REQUIREMENTS.includes(requires as Requirement)) {
    throw new UnitsyncError("bad_request", `"requires" must be one of ${REQUIREMENTS.join(", ")}`);
  }
  const declared = graph.declareDependencies(unit, dependsOn, requires as Requirement);
  return jsonResponse({ unit_name: unit, dependencies: declared } satisfies WantResponse);
}

function start({ waiters }: Served, request: Request, unit: string, _url: URL, body: Record<string, unknown>): Response {
  const timeoutMs = milliseconds(body, "timeout_ms", DEFAULT_START_TIMEOUT_MS);
  const progressMs = milliseconds(body, "progress_ms", DEFAULT_PROGRESS_MS);
  const pid = body.pid === undefined ? undefined : wholeNumber(body, "pid", 0, "a process id");
  if (body.script !== undefined && typeof body.script !== "string") {
    throw new UnitsyncError("bad_request", `"script" must be a string`);
  }
  const script = body.script === undefined ? undefined : oneLine(body.script as string);
  if (body.resume !== undefined && typeof body.resume !== "boolean") throw new UnitsyncError("bad_request", `"resume" must be true or false`);
  const lock = body.lock === undefined ? undefined : lockName(body.lock);
  const options = { timeoutMs, progressMs, pid, script, resume: body.resume === true, lock };
  // Throws before anything is written when the unit cannot start at all: a plain error answer.
  return ndjsonResponse<StartLine>(request, (sink) => waiters.begin(unit, sink, options));
}

/** `unitsync lock`: holds the lock for as long as the answer stays open. */
function holdLock({ lockHolds }: Served, request: Request, lock: string, _url: URL, body: Record<string, unknown>): Response {
  validateUnitName(lock, "lock name");
  const timeoutMs = milliseconds(body, "timeout_ms", DEFAULT_START_TIMEOUT_MS);
  const pid = body.pid === undefined ? undefined : wholeNumber(body, "pid", 0, "a process id");
  if (body.script !== undefined && typeof body.script !== "string") {
    throw new UnitsyncError("bad_request", `"script" must be a string`);
  }
  const script = body.script === undefined ? undefined : oneLine(body.script as string);
  return ndjsonResponse<LockLine>(request, (sink) => lockHolds.begin(lock, { pid, script }, sink, timeoutMs));
}

function lockName(lock: unknown): string {
  if (typeof lock !== "string") throw new UnitsyncError("bad_request", `"lock" must be a lock name`);
  validateUnitName(lock, "lock name");
  return lock;
}

function complete({ graph }: Served, _request: Request, unit: string): Response {
  graph.complete(unit);
  return jsonResponse({ unit_name: unit, status: "completed" } satisfies CompleteResponse);
}

function fail({ graph }: Served, _request: Request, unit: string, _url: URL, body: Record<string, unknown>): Response {
  const reason = body.reason ?? "";
  if (typeof reason !== "string") throw new UnitsyncError("bad_request", `"reason" must be a string`);
  graph.fail(unit, oneLine(reason));
  return jsonResponse({ unit_name: unit, status: "failed", reason: graph.reasonOf(unit) } satisfies CompleteResponse);
}

function declareTarget({ graph }: Served, _request: Request, target: string, _url: URL, body: Record<string, unknown>): Response {
  const members = body.members ?? [];
  if (!Array.isArray(members) || !members.every((m) => typeof m === "string")) {
    throw new UnitsyncError("bad_request", `"members" must be an array of unit names`);
  }
  const declared = graph.declareTarget(target, members);
  const status = graph.statusOf(target)!;
  return jsonResponse({ unit_name: target, status, added: declared.added, members: declared.members } satisfies TargetResponse);
}

function declareFirst({ graph }: Served, _request: Request, unit: string): Response {
  const { held, running } = graph.declareFirst(unit);
  return jsonResponse({ unit_name: unit, held, running } satisfies FirstResponse);
}

function decodeUnitName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Well-formed escapes that decode to no text are a name that is not UTF-8, refused as in a body.
    if (/^(?:[^%]|%[0-9A-Fa-f]{2})*$/.test(segment)) throw new UnitsyncError("invalid_name", notUtf8());
    throw new UnitsyncError("bad_request", `unit name in the path is not valid percent-encoding`);
  }
}

/** A reason fit for one-line messages: whitespace runs and control characters become one space. */
function oneLine(reason: string): string {
  const flat = reason.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return flat.length > MAX_REASON_LENGTH ? `${flat.slice(0, MAX_REASON_LENGTH)}...` : flat;
}

function wholeNumber(body: Record<string, unknown>, field: string, fallback: number, what: string): number {
  const value = body[field] ?? fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new UnitsyncError("bad_request", `"${field}" must be ${what}`);
  }
  return value;
}

function milliseconds(body: Record<string, unknown>, field: string, fallback: number): number {
  return wholeNumber(body, field, fallback, "a whole number of milliseconds, 0 or more");
}

function isTrue(flag: string | null): boolean {
  return flag !== null && flag !== "0" && flag !== "false";
}
