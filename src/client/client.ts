import {
  API_PREFIX,
  SERVER_ID_HEADER,
  UnitsyncError,
  type CompleteResponse,
  type ErrorLine,
  type EventEntry,
  type LoggedEvent,
  type FirstResponse,
  type GraphResponse,
  type LockEntry,
  type LockLine,
  type PingResponse,
  type Requirement,
  type StartLine,
  type SupervisionRequest,
  type SupervisionResponse,
  type TargetResponse,
  type TimelineResponse,
  type TraceResponse,
  type UnitListEntry,
  type UnitStatusResponse,
  type WantResponse,
} from "../protocol/index.ts";
import {
  ascii,
  check,
  COMPLETE,
  ERROR_BODY,
  EVENT_LINE,
  EVENTS,
  FIRST,
  GRAPH,
  LOCK_LINE,
  LOCKS,
  PING,
  START_LINE,
  SUPERVISION,
  TARGET,
  TIMELINE,
  TRACE,
  UNIT_LIST,
  UNIT_STATUS,
  WANT,
  type Shape,
} from "./answers.ts";
import { LineTooLong, readLines } from "../protocol/lines.ts";
import { exchange, exchangeNow } from "./http.ts";
import { checkSocketTrust } from "./trust.ts";

export type StartedLine = Extract<StartLine, { type: "started" }>;
export type WaitingLine = Extract<StartLine, { type: "waiting" }>;
export type ProgressLine = Extract<StartLine, { type: "progress" }>;

/** How a start waits: its time-out, how often it hears progress, and what to do with each report. */
export interface StartOptions {
  timeoutMs: number;
  /** 0 for never; the server's default (30 s) when absent. */
  progressMs?: number;
  /** Sees each `waiting` line (first, and when the wait grows) and each periodic `progress` line. */
  onWaiting?: (line: WaitingLine | ProgressLine) => void | Promise<void>;
  /** Who asks, as a supervisor such as `up` tells blocked scripts apart: the process, and the script it runs in. */
  asker?: { pid: number; script?: string };
  /** Wait for a server that goes away meanwhile to come back, and go on waiting there (see `RideOver`). */
  rideOver?: RideOver;
}

/**
 * How a waiting command rides over its server's restart: when the server goes away (or is not
 * there yet), keep trying to reach one at the same path for up to `maxMs` (default: the rest
 * of the command's own time-out; for ever with none), then go on where it was.
 */
export interface RideOver {
  maxMs?: number;
  /** Told when the server has gone away, before the waiting begins (once per command). */
  onGone?: (error: UnitsyncError) => void | Promise<void>;
}

/** A lock held, or a unit started holding one: `release` lets it go (exiting does too). */
export interface Held<Line> {
  line: Line;
  release(): Promise<void>;
}

export type AcquiredLine = Extract<LockLine, { type: "acquired" }>;
export type LockWaitingLine = Extract<LockLine, { type: "waiting" }>;

export interface ClientOptions {
  /**
   * How long to keep trying to reach a server that is not there yet (no socket file, or
   * nothing listening on it), counted from the first attempt; 0 fails at once.
   */
  waitForServerMs?: number;
  /**
   * How long a server may take to answer once connected: the whole answer for a request that
   * does not wait, the status line and headers for one that does (start, events --follow).
   * 0 waits for ever. A stopped server accepts connections and never answers.
   */
  requestTimeoutMs?: number;
  /** The longest answer, or line of a streaming answer, accepted, in characters. */
  maxAnswerLength?: number;
  /**
   * True when the user named the socket path (flag or environment) rather than taking the
   * default: only then may a group-shared server of another user's be trusted (see `checkSocketTrust`).
   */
  explicitPath?: boolean;
  /**
   * Make each request that does not wait (everything but a start, a lock and followed events)
   * with blocking system calls: cheaper for a process with nothing else to do, such as a CLI
   * command, and a deadlock for one that serves the socket itself or has other work to get on
   * with meanwhile. Off by default.
   */
  blocking?: boolean;
}

/** The default `requestTimeoutMs`: far beyond any real answer, short enough that a script notices. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/**
 * The default `maxAnswerLength`. The largest real answers (the status of a unit with 200,000
 * dependencies, or the whole graph, at the server's limits) are around 100 MB; past this, the
 * other end is sending something else, and reading on would only exhaust memory.
 */
const MAX_ANSWER_LENGTH = 256 * 1024 * 1024;

/** The first retry of a missing server comes soon; later ones back off to this. */
const LONGEST_RETRY_MS = 100;

/** Connection errors that a server starting up would clear; the request never reached anyone. */
const NOT_UP_YET = new Set(["ENOENT", "ECONNREFUSED"]);

/** Errors that mean no server is there right now: it went away, or nothing listens yet. */
const serverGone = new WeakSet<UnitsyncError>();
/** Of those, the ones where a server had answered and then went away mid-exchange. */
const serverLeft = new WeakSet<UnitsyncError>();

/** What the exchange (as Bun's fetch) says when the bytes that came back are not HTTP. */
const NOT_HTTP = new Set(["Malformed_HTTP_Response", "InvalidHTTPResponse"]);

/** A thin typed client for one server; every failure surfaces as a `UnitsyncError`. */
export class UnitsyncClient {
  private readonly waitForServerMs: number;
  private readonly requestTimeoutMs: number;
  private readonly maxAnswerLength: number;
  private readonly explicitPath: boolean;
  private readonly blocking: boolean;
  private waitDeadline: number | undefined;
  /** When a server last answered this client (undefined: never): one missing after that went away. */
  private answeredAt: number | undefined;
  /** Who gave the last answer (SERVER_ID_HEADER), null when it did not say. */
  private serverId: string | null = null;

  constructor(
    readonly socketPath: string,
    { waitForServerMs = 0, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS, maxAnswerLength = MAX_ANSWER_LENGTH, explicitPath = false, blocking = false }: ClientOptions = {},
  ) {
    // "" names no socket, and a NUL would cut the path short.
    if (socketPath === "" || socketPath.includes("\0")) {
      throw new UnitsyncError("usage", `invalid socket path ${JSON.stringify(socketPath)}: give the path of a socket file`);
    }
    this.waitForServerMs = waitForServerMs;
    this.requestTimeoutMs = requestTimeoutMs;
    this.maxAnswerLength = maxAnswerLength;
    this.explicitPath = explicitPath;
    this.blocking = blocking;
  }

  ping(): Promise<PingResponse> {
    return this.json<PingResponse>("GET", "/ping", PING);
  }

  listUnits(): Promise<UnitListEntry[]> {
    return this.json<UnitListEntry[]>("GET", "/units", UNIT_LIST);
  }

  unitStatus(unit: string): Promise<UnitStatusResponse> {
    return this.json<UnitStatusResponse>("GET", unitPath(unit), UNIT_STATUS);
  }

  /** The event log: the events after number `after` that the server still holds. */
  events(after = 0): Promise<LoggedEvent[]> {
    return this.json<LoggedEvent[]>("GET", `/events?after=${after}`, EVENTS);
  }

  /** Calls `onEvent` with every logged event after `after`, then with each new one, until the server goes away. */
  async followEvents(after: number, onEvent: (event: LoggedEvent) => void | Promise<void>): Promise<never> {
    for await (const line of this.stream<LoggedEvent | ErrorLine>("GET", `/events?follow=1&after=${after}`, undefined, EVENT_LINE)) {
      if (line.type === "error") throw this.refusedLine(line.error);
      await onEvent(line);
    }
    throw this.wentAway();
  }

  graph(): Promise<GraphResponse> {
    return this.json<GraphResponse>("GET", "/graph", GRAPH);
  }

  timeline(): Promise<TimelineResponse> {
    return this.json<TimelineResponse>("GET", "/timeline", TIMELINE);
  }

  /** What a supervisor reads (`up`); with `after`, once the state changed past that version. */
  supervision(question: SupervisionRequest): Promise<SupervisionResponse> {
    return this.json<SupervisionResponse>("POST", "/supervision", SUPERVISION, question);
  }

  /** The start-up as an OTLP/JSON trace, the one `serve` sends to a collector. */
  trace(): Promise<TraceResponse> {
    return this.json<TraceResponse>("GET", "/trace", TRACE);
  }

  want(unit: string, dependsOn: string[], requires?: Requirement): Promise<WantResponse> {
    return this.json<WantResponse>("POST", `${unitPath(unit)}/dependencies`, WANT, { depends_on: dependsOn, requires });
  }

  /** Declares `target` and adds `members` to it (none: only declares it). */
  target(target: string, members: string[]): Promise<TargetResponse> {
    return this.json<TargetResponse>("POST", `${unitPath(target)}/target`, TARGET, { members });
  }

  /** Makes every unit outside the set-up phase, now and later, wait for `unit`. */
  first(unit: string): Promise<FirstResponse> {
    return this.json<FirstResponse>("POST", `${unitPath(unit)}/first`, FIRST);
  }

  complete(unit: string): Promise<CompleteResponse> {
    return this.json<CompleteResponse>("POST", `${unitPath(unit)}/complete`, COMPLETE);
  }

  fail(unit: string, reason: string): Promise<CompleteResponse> {
    return this.json<CompleteResponse>("POST", `${unitPath(unit)}/fail`, COMPLETE, { reason });
  }

  /**
   * Asks the server to start `unit`, waiting there (never polling) until its dependencies
   * are satisfied; resolves with the final started line. With `rideOver`, a server that goes
   * away meanwhile is waited for and asked again, saying the start resumes: a unit the last
   * server started for it before it could answer counts as started.
   */
  start(unit: string, options: StartOptions): Promise<StartedLine> {
    const endsAt = options.timeoutMs > 0 ? performance.now() + options.timeoutMs : Infinity;
    return this.riding(options.rideOver, endsAt, (resume) => {
      const timeoutMs = endsAt === Infinity ? 0 : Math.max(1, Math.ceil(endsAt - performance.now()));
      return this.startOnce(unit, { ...options, timeoutMs }, resume);
    });
  }

  /**
   * Runs `attempt` and, while `rideOver` allows and until `endsAt`, again each time the server
   * turns out to be gone, once one answers at the path again; `resumed` is true after a gap.
   */
  async riding<T>(rideOver: RideOver | undefined, endsAt: number, attempt: (resumed: boolean) => Promise<T>): Promise<T> {
    let told = false;
    /** When the current gap began and when waiting for it ends; a server answering ends the gap. */
    let gap: { began: number; ends: number } | undefined;
    for (let resumed = false; ; resumed = true) {
      try {
        return await attempt(resumed);
      } catch (error) {
        if (!rideOver || !(error instanceof UnitsyncError) || !serverGone.has(error)) throw error;
        // Only a server that was there and left is waited for; none at all at first fails as always.
        if (!resumed && this.answeredAt === undefined && !serverLeft.has(error)) throw error;
        // A server that cut its answer short and still answers is no restart: nothing to wait for.
        if (serverLeft.has(error) && !(await this.serverGoneOrReplaced())) throw error;
        const now = performance.now();
        if (!gap || (this.answeredAt ?? 0) > gap.began) gap = { began: now, ends: now + Math.min(rideOver.maxMs ?? Infinity, endsAt - now) };
        if (now >= gap.ends) throw error;
        // Once: a connection kept from before the gap may fail again at once, which is no news.
        if (!told) await rideOver.onGone?.(error);
        told = true;
        // The next attempt connects as soon as a server listens, and gives up when the gap's time is up.
        this.waitDeadline = gap.ends;
      }
    }
  }

  /**
   * After an answer was cut short: true when nothing listens on the path any more, or a
   * different server (another pid or start) answers there; false when the one that cut the
   * answer, or something that is not a unitsync server, still answers.
   */
  private async serverGoneOrReplaced(): Promise<boolean> {
    // A killed server's connections may close a moment before its listening socket does: a
    // connection reset just then is asked again, shortly; a server resetting every time is no restart.
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const response = await exchange(this.socketPath, {
          method: "GET",
          path: `${API_PREFIX}/ping`,
          signal: AbortSignal.timeout(this.requestTimeoutMs > 0 ? this.requestTimeoutMs : 10_000),
          maxBodyLength: this.maxAnswerLength,
        });
        await response.arrayBuffer().catch(() => {});
        const id = response.headers.get(SERVER_ID_HEADER);
        return id !== null && id !== this.serverId;
      } catch (error) {
        const code = (error as { code?: string }).code ?? "";
        if (NOT_UP_YET.has(code)) return true;
        if (NOT_HTTP.has(code) || (error as Error).name === "TimeoutError") return false;
        await Bun.sleep(25 * attempt);
      }
    }
    return false;
  }

  private async startOnce(unit: string, { timeoutMs, progressMs, onWaiting, asker }: StartOptions, resume: boolean): Promise<StartedLine> {
    // Who asks: `up` tells which scripts are blocked from the pids of waiting starts.
    const body = { timeout_ms: timeoutMs, progress_ms: progressMs, pid: asker?.pid, script: asker?.script, ...(resume ? { resume } : {}) };
    // The answer is read to its end before anything else is done: a blocking client may wait in a blocking read.
    for await (const line of this.stream<StartLine>("POST", `${unitPath(unit)}/start`, body, START_LINE, false)) {
      if (line.type === "waiting" || line.type === "progress") await onWaiting?.(line);
      else if (line.type === "started") return line;
      else throw this.refusedLine(line.error);
    }
    throw this.wentAway();
  }

  /** Every lock held or waited for, with its holder and waiters in order. */
  locks(): Promise<LockEntry[]> {
    return this.json<LockEntry[]>("GET", "/locks", LOCKS);
  }

  /**
   * Takes the named lock, waiting on the server (never polling) while another client holds
   * it; resolves once it is held. The lock stays held while the answer stays open: until
   * `release`, or until this process exits, whichever comes first.
   */
  async holdLock(
    lock: string,
    { timeoutMs, onWaiting, asker }: Pick<StartOptions, "timeoutMs" | "asker"> & { onWaiting?: (line: LockWaitingLine) => void | Promise<void> },
  ): Promise<Held<AcquiredLine>> {
    const body = { timeout_ms: timeoutMs, pid: asker?.pid, script: asker?.script };
    return this.holdOpen(this.stream<LockLine>("POST", lockPath(lock), body, LOCK_LINE), async (line) => {
      if (line.type === "waiting") await onWaiting?.(line);
      else if (line.type === "acquired") return line;
      else throw this.refusedLine(line.error);
      return undefined;
    });
  }

  /** `start` that takes `lock` once the dependencies are satisfied: the unit starts holding it, until `release`. */
  async startHoldingLock(unit: string, lock: string, { timeoutMs, progressMs, onWaiting, asker }: StartOptions): Promise<Held<StartedLine>> {
    const body = { timeout_ms: timeoutMs, progress_ms: progressMs, pid: asker?.pid, script: asker?.script, lock };
    return this.holdOpen(this.stream<StartLine>("POST", `${unitPath(unit)}/start`, body, START_LINE), async (line) => {
      if (line.type === "waiting" || line.type === "progress") await onWaiting?.(line);
      else if (line.type === "started") return line;
      else throw this.refusedLine(line.error);
      return undefined;
    });
  }

  /** Reads `lines` until `until` gives the line that means "held", and keeps the answer open from there. */
  private async holdOpen<Line, Final>(lines: AsyncGenerator<Line>, until: (line: Line) => Promise<Final | undefined>): Promise<Held<Final>> {
    try {
      for (;;) {
        const next = await lines.next();
        if (next.done) throw this.wentAway();
        const final = await until(next.value);
        // A server gone meanwhile took the lock with it: there is nothing left to release.
        if (final !== undefined) return { line: final, release: () => lines.return(undefined).then(() => {}, () => {}) };
      }
    } catch (error) {
      await lines.return(undefined);
      throw error;
    }
  }

  /** The error a stream's last line carries; a server shutting down went away as much as a killed one. */
  private refusedLine({ code, message }: ErrorLine["error"]): UnitsyncError {
    const error = new UnitsyncError(code, message);
    if (code === "server_closing") {
      serverGone.add(error);
      serverLeft.add(error);
    }
    return error;
  }

  /** A request that does not wait: the whole answer comes within the request deadline. */
  private async json<T>(method: string, path: string, shape: Shape<T>, body?: unknown): Promise<T> {
    const deadline = new Deadline(this.requestTimeoutMs);
    try {
      const response = await this.answer(method, path, body, "application/json", deadline, false);
      return this.parse(await this.text(response, deadline), shape, "the answer");
    } finally {
      deadline.end();
    }
  }

  /**
   * The lines of a streaming answer, each checked. Only the status and headers have to come
   * within the request deadline; the lines come when they come. A stream that breaks, or that
   * ends with a line cut short, is a server that went away. What the caller does with a line
   * is its own business, so its errors (a closed stdout, say) pass through unchanged.
   */
  private async *stream<Line>(method: string, path: string, body: unknown, shape: Shape<Line>, holds = true): AsyncGenerator<Line> {
    const deadline = new Deadline(this.requestTimeoutMs);
    let response: Response;
    try {
      response = await this.answer(method, path, body, "application/x-ndjson", deadline, holds);
    } finally {
      deadline.end();
    }
    // A 204 has no body at all: a stream with no lines.
    if (!response.body) return;
    const lines = readLines(response.body, this.maxAnswerLength);
    try {
      for (let number = 1; ; number++) {
        let text: string;
        try {
          const next = await lines.next();
          if (next.done) return;
          text = next.value;
        } catch (error) {
          throw error instanceof LineTooLong ? this.tooLong(`line ${number}`) : await this.failure(error, undefined, true);
        }
        if (text.trim() !== "") yield this.parse(text, shape, `line ${number}`);
      }
    } finally {
      // A caller done early (the final line, or its own error): let the connection go.
      await lines.return(undefined);
    }
  }

  /** Sends the request; a refusal becomes the server's error, and a success must carry `type`. */
  private async answer(method: string, path: string, body: unknown, type: string, deadline: Deadline, holds: boolean): Promise<Response> {
    const response = await this.request(method, path, body, deadline, holds);
    if (!response.ok) throw await this.refusal(response, deadline);
    const got = response.headers.get("content-type") ?? "";
    if (mediaType(got) !== type) throw this.unexpected(`HTTP ${response.status} with content type ${ascii(JSON.stringify(got), 60)}, not ${type}`);
    return response;
  }

  /** The server's error for a non-2xx answer, when it is one. */
  private async refusal(response: Response, deadline: Deadline): Promise<UnitsyncError> {
    const text = await this.text(response, deadline);
    // Bun's HTTP layer answers a body past its own ceiling with a bare 413.
    if (response.status === 413 && text === "") return new UnitsyncError("payload_too_large", "the request is too large for the server");
    const what = `HTTP ${response.status}`;
    if (mediaType(response.headers.get("content-type") ?? "") !== "application/json") {
      return this.unexpected(`${what} without a JSON error${text === "" ? "" : `: ${ascii(JSON.stringify(text), 60)}`}`);
    }
    const { error } = this.parse(text, ERROR_BODY, what);
    return new UnitsyncError(error.code, error.message);
  }

  /** A whole answer's body, at most `maxAnswerLength` characters. */
  private async text(response: Response, deadline: Deadline): Promise<string> {
    const declared = response.headers.get("content-length");
    try {
      // The server always says how long; reading the body in one piece is cheapest then.
      if (declared !== null) {
        if (Number(declared) > this.maxAnswerLength) throw this.tooLong("the answer");
        return await response.text();
      }
      if (!response.body) return "";
      const decoder = new TextDecoder();
      let text = "";
      for await (const chunk of response.body) {
        text += decoder.decode(chunk, { stream: true });
        if (text.length > this.maxAnswerLength) throw this.tooLong("the answer");
      }
      return text + decoder.decode();
    } catch (error) {
      throw await this.failure(error, deadline, true);
    }
  }

  private parse<T>(text: string, shape: Shape<T>, what: string): T {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw this.unexpected(`${what} is not JSON: ${ascii(JSON.stringify(text), 60)}`);
    }
    const problem = check(shape, value);
    if (problem !== undefined) throw this.unexpected(`${what}${problem.startsWith(":") ? "" : " at "}${problem}`);
    return value as T;
  }

  /**
   * Sends one request, trying again while a server is awaited. For a `blocking` client, each
   * read blocks, unless the answer `holds` something (a lock, followed events) while the
   * process goes on with other work: that one goes on the event loop.
   */
  private async request(method: string, path: string, body: unknown, deadline: Deadline, holds: boolean): Promise<Response> {
    for (let retryMs = 5; ; retryMs = Math.min(retryMs * 2, LONGEST_RETRY_MS)) {
      // Before every attempt: a directory that was missing may have been made by someone else meanwhile.
      checkSocketTrust(this.socketPath, this.explicitPath);
      try {
        // The answer is what the server says: no redirect is followed, nothing unpacked, and a
        // waiting request may stay quiet for as long as the caller asked.
        const request = { method, path: `${API_PREFIX}${path}`, body: body === undefined ? undefined : JSON.stringify(body), maxBodyLength: this.maxAnswerLength };
        // Each attempt gets the whole time: waiting for a server to come up is not answering late.
        // A blocking exchange is bound by the same time inside it.
        let response = holds || !this.blocking ? undefined : exchangeNow(this.socketPath, { ...request, timeoutMs: this.requestTimeoutMs });
        if (!response) {
          deadline.start();
          response = await exchange(this.socketPath, { ...request, signal: deadline.signal });
        }
        this.answeredAt = performance.now();
        this.serverId = response.headers.get(SERVER_ID_HEADER);
        return response;
      } catch (error) {
        const code = (error as { code?: string }).code ?? "";
        this.waitDeadline ??= performance.now() + this.waitForServerMs;
        const left = this.waitDeadline - performance.now();
        if (!NOT_UP_YET.has(code) || left <= 0) throw await this.failure(error, deadline);
        // Nothing to be woken by: the server does not exist yet. Connecting is one cheap system call.
        await Bun.sleep(Math.min(retryMs, left));
      }
    }
  }

  /**
   * What a failed exchange means: no answer in time, bytes that are not HTTP, a server that
   * left (any failure once its answer has begun, `answering`), or no server there at all.
   */
  private async failure(error: unknown, deadline?: Deadline, answering = false): Promise<UnitsyncError> {
    if (error instanceof UnitsyncError) return error;
    const code = (error as { code?: string }).code ?? "";
    if (deadline?.expired || code === "ETIMEDOUT") return this.noAnswer();
    if (NOT_HTTP.has(code)) return this.unexpected("the answer is not HTTP");
    if (answering || code === "ECONNRESET") return this.wentAway();
    return unreachable(this.socketPath, error, this.waitForServerMs);
  }

  private wentAway(): UnitsyncError {
    const error = new UnitsyncError("server_unreachable", `the unitsync server on ${this.socketPath} went away`);
    serverGone.add(error);
    serverLeft.add(error);
    return error;
  }

  private noAnswer(): UnitsyncError {
    return new UnitsyncError(
      "server_unreachable",
      `the unitsync server on ${this.socketPath} did not answer within ${this.requestTimeoutMs / 1000}s; ` +
        `it may be stopped or overloaded: check its process, or allow longer with UNITSYNC_REQUEST_TIMEOUT (0 waits for ever)`,
    );
  }

  /** Whatever answers on the socket does not speak this protocol: a one-line, bounded description of how. */
  private unexpected(description: string): UnitsyncError {
    return new UnitsyncError("unexpected_answer", `unexpected answer from ${this.socketPath}: ${description}`);
  }

  private tooLong(what: string): UnitsyncError {
    return this.unexpected(`${what} is longer than ${this.maxAnswerLength} characters`);
  }
}

/**
 * The time a server has to answer, when there is a limit; `end` stops the clock. Built on
 * AbortSignal.timeout: it costs a client process a fifth of what a first setTimeout does.
 */
class Deadline {
  // Made when first asked for: a blocking exchange keeps its own time (SO_RCVTIMEO), and the
  // first AbortController or AbortSignal.timeout of a process costs it a fraction of a millisecond.
  private controller: AbortController | undefined;
  private clock: AbortSignal | undefined;
  expired = false;

  constructor(private readonly ms: number) {}

  get signal(): AbortSignal | undefined {
    return this.ms > 0 ? (this.controller ??= new AbortController()).signal : undefined;
  }

  /** (Re)starts the clock. */
  start(): void {
    if (this.ms <= 0) return;
    this.end();
    this.clock = AbortSignal.timeout(this.ms);
    this.clock.addEventListener("abort", this.expire, { once: true });
  }

  end(): void {
    this.clock?.removeEventListener("abort", this.expire);
  }

  private readonly expire = () => {
    this.expired = true;
    this.controller?.abort();
  };
}

/** `application/json; charset=utf-8` is `application/json`. */
function mediaType(header: string): string {
  return header.split(";", 1)[0]!.trim().toLowerCase();
}

function unitPath(unit: string): string {
  // A URL reads these as path steps: the request would reach another route.
  if (unit === "." || unit === "..") {
    throw new UnitsyncError("invalid_name", `unit name "${unit}" is not allowed: "." and ".." read as path steps in a URL`);
  }
  return `/units/${encodeURIComponent(unit)}`;
}

function lockPath(lock: string): string {
  if (lock === "." || lock === "..") {
    throw new UnitsyncError("invalid_name", `lock name "${lock}" is not allowed: "." and ".." read as path steps in a URL`);
  }
  return `/locks/${encodeURIComponent(lock)}`;
}

const REASONS: Record<string, string> = {
  ENOENT: "no socket file there",
  ECONNREFUSED: "nothing is listening on the socket file",
  EACCES: "permission denied",
  ENOTDIR: "a path component is not a directory",
  ENOTSOCK: "the file is not a socket",
  ENAMETOOLONG: "the path is longer than a Unix socket allows, 107 bytes",
  ELOOP: "too many symbolic links",
};

async function unreachable(socketPath: string, error: unknown, waitedMs: number): Promise<UnitsyncError> {
  let code = (error as { code?: string }).code ?? "";
  if (code === "ECONNREFUSED") {
    // Connecting to a regular file is refused too; say which it is. Loaded only on this path.
    // Bun.connect says ECONNREFUSED for a path through a file too: lstat tells.
    const { lstat } = await import("node:fs/promises");
    code = await lstat(socketPath).then(
      (s) => (s.isSocket() ? code : "ENOTSOCK"),
      (e: { code?: string }) => (e.code === "ENOTDIR" ? e.code : code),
    );
  }
  const reason = REASONS[code] ?? ((error as Error).message || code);
  const waited = waitedMs > 0 && NOT_UP_YET.has(code) ? ` after waiting ${waitedMs / 1000}s for one` : "";
  const next =
    code === "EACCES"
      ? `run as the server's user, or start the server with "unitsync serve --group GROUP" for a group you are in`
      : `start one with "unitsync serve", or point --socket-path or UNITSYNC_SOCKET_PATH at a running one`;
  // The cause keeps the system's error code, for a caller that words it its own way (the `coder` personality).
  const failure = new UnitsyncError("server_unreachable", `no unitsync server at ${socketPath} (${reason})${waited}; ${next}`, { cause: error });
  if (NOT_UP_YET.has(code)) serverGone.add(failure);
  return failure;
}
