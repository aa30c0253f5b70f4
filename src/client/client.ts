import {
  API_ORIGIN,
  API_PREFIX,
  UnitsyncError,
  type CompleteResponse,
  type ErrorBody,
  type ErrorLine,
  type EventEntry,
  type GraphResponse,
  type PingResponse,
  type Requirement,
  type StartLine,
  type TimelineResponse,
  type UnitListEntry,
  type UnitStatusResponse,
  type WantResponse,
} from "../protocol/index.ts";
import { readLines } from "./lines.ts";

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
}

export interface ClientOptions {
  /**
   * How long to keep trying to reach a server that is not there yet (no socket file, or
   * nothing listening on it), counted from the first attempt; 0 fails at once.
   */
  waitForServerMs?: number;
}

/** The first retry of a missing server comes soon; later ones back off to this. */
const LONGEST_RETRY_MS = 100;

/** Connection errors that a server starting up would clear; the request never reached anyone. */
const NOT_UP_YET = new Set(["ENOENT", "ECONNREFUSED"]);

/** A thin typed client for one server; every failure surfaces as a `UnitsyncError`. */
export class UnitsyncClient {
  private readonly waitForServerMs: number;
  private waitDeadline: number | undefined;

  constructor(
    readonly socketPath: string,
    { waitForServerMs = 0 }: ClientOptions = {},
  ) {
    this.waitForServerMs = waitForServerMs;
  }

  ping(): Promise<PingResponse> {
    return this.json("GET", "/ping");
  }

  listUnits(): Promise<UnitListEntry[]> {
    return this.json("GET", "/units");
  }

  unitStatus(unit: string): Promise<UnitStatusResponse> {
    return this.json("GET", unitPath(unit));
  }

  /** The event log: the events after number `after` that the server still holds. */
  events(after = 0): Promise<EventEntry[]> {
    return this.json("GET", `/events?after=${after}`);
  }

  /** Calls `onEvent` with every logged event after `after`, then with each new one, until the server goes away. */
  async followEvents(after: number, onEvent: (event: EventEntry) => void | Promise<void>): Promise<never> {
    const response = await this.request("GET", `/events?follow=1&after=${after}`);
    if (!response.ok) throw await errorFrom(response);
    for await (const line of this.ndjsonLines<EventEntry | ErrorLine>(response)) {
      if (line.type === "error") throw new UnitsyncError(line.error.code, line.error.message);
      await onEvent(line);
    }
    throw this.wentAway();
  }

  graph(): Promise<GraphResponse> {
    return this.json("GET", "/graph");
  }

  timeline(): Promise<TimelineResponse> {
    return this.json("GET", "/timeline");
  }

  want(unit: string, dependsOn: string[], requires?: Requirement): Promise<WantResponse> {
    return this.json("POST", `${unitPath(unit)}/dependencies`, { depends_on: dependsOn, requires });
  }

  complete(unit: string): Promise<CompleteResponse> {
    return this.json("POST", `${unitPath(unit)}/complete`);
  }

  fail(unit: string, reason: string): Promise<CompleteResponse> {
    return this.json("POST", `${unitPath(unit)}/fail`, { reason });
  }

  /**
   * Asks the server to start `unit`, waiting there (never polling) until its dependencies
   * are satisfied; resolves with the final started line.
   */
  async start(unit: string, { timeoutMs, progressMs, onWaiting }: StartOptions): Promise<StartedLine> {
    // Who asks: `up` tells which scripts are blocked from the pids of waiting starts.
    const body = { timeout_ms: timeoutMs, progress_ms: progressMs, pid: process.pid, script: process.env.UNITSYNC_SCRIPT };
    const response = await this.request("POST", `${unitPath(unit)}/start`, body);
    if (!response.ok) throw await errorFrom(response);
    for await (const line of this.ndjsonLines<StartLine>(response)) {
      if (line.type === "waiting" || line.type === "progress") await onWaiting?.(line);
      else if (line.type === "started") return line;
      else throw new UnitsyncError(line.error.code, line.error.message);
    }
    throw this.wentAway();
  }

  /**
   * The lines of a streaming answer. A stream that breaks, or a last line cut short by a
   * server that went away, is `wentAway`; what the caller does with a line is its own
   * business, so its errors (a closed stdout, say) pass through unchanged.
   */
  private async *ndjsonLines<Line>(response: Response): AsyncGenerator<Line> {
    const lines = readLines(response.body!);
    for (;;) {
      let line: Line | undefined;
      try {
        const next = await lines.next();
        if (next.done) return;
        if (next.value.trim() !== "") line = JSON.parse(next.value) as Line;
      } catch {
        throw this.wentAway();
      }
      if (line !== undefined) yield line;
    }
  }

  private wentAway(): UnitsyncError {
    return new UnitsyncError("server_unreachable", `the unitsync server on ${this.socketPath} went away`);
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.request(method, path, body);
    if (!response.ok) throw await errorFrom(response);
    try {
      return (await response.json()) as T;
    } catch {
      throw this.wentAway();
    }
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    for (let retryMs = 5; ; retryMs = Math.min(retryMs * 2, LONGEST_RETRY_MS)) {
      try {
        return await fetch(`${API_ORIGIN}${API_PREFIX}${path}`, {
          method,
          unix: this.socketPath,
          // Waiting requests may stay quiet for as long as the caller asked; Bun would give up after 5 min.
          timeout: false,
          body: body === undefined ? undefined : JSON.stringify(body),
          headers: body === undefined ? undefined : { "content-type": "application/json" },
        });
      } catch (error) {
        const code = (error as { code?: string }).code ?? "";
        this.waitDeadline ??= performance.now() + this.waitForServerMs;
        const left = this.waitDeadline - performance.now();
        if (!NOT_UP_YET.has(code) || left <= 0) throw await unreachable(this.socketPath, error, this.waitForServerMs);
        // Nothing to be woken by: the server does not exist yet. Connecting is one cheap system call.
        await Bun.sleep(Math.min(retryMs, left));
      }
    }
  }
}

function unitPath(unit: string): string {
  // fetch would resolve these as path steps, and the request would reach another route.
  if (unit === "." || unit === "..") {
    throw new UnitsyncError("invalid_name", `unit name "${unit}" is not allowed: "." and ".." read as path steps in a URL`);
  }
  return `/units/${encodeURIComponent(unit)}`;
}

async function errorFrom(response: Response): Promise<UnitsyncError> {
  const text = await response.text().catch(() => "");
  try {
    const { error } = JSON.parse(text) as ErrorBody;
    return new UnitsyncError(error.code, error.message);
  } catch {
    // Bun's HTTP layer answers a body past its own ceiling with a bare 413.
    if (response.status === 413) return new UnitsyncError("payload_too_large", "the request is too large for the server");
    return new UnitsyncError("internal", `unexpected answer from the server (HTTP ${response.status}): ${text.slice(0, 200)}`);
  }
}

const REASONS: Record<string, string> = {
  ENOENT: "no socket file there",
  ECONNREFUSED: "nothing is listening on the socket file",
  EACCES: "permission denied",
  ENOTDIR: "a path component is not a directory",
  ENOTSOCK: "the file is not a socket",
};

async function unreachable(socketPath: string, error: unknown, waitedMs: number): Promise<UnitsyncError> {
  let code = (error as { code?: string }).code ?? "";
  if (code === "ECONNREFUSED") {
    // Connecting to a regular file is refused too; say which it is. Loaded only on this path.
    const { lstat } = await import("node:fs/promises");
    const isSocket = await lstat(socketPath).then((s) => s.isSocket(), () => true);
    if (!isSocket) code = "ENOTSOCK";
  }
  const reason = REASONS[code] ?? ((error as Error).message || code);
  const waited = waitedMs > 0 && NOT_UP_YET.has(code) ? ` after waiting ${waitedMs / 1000}s for one` : "";
  const next =
    code === "EACCES"
      ? `run as the server's user, or start the server with "unitsync serve --group GROUP" for a group you are in`
      : `start one with "unitsync serve", or point --socket-path or UNITSYNC_SOCKET_PATH at a running one`;
  return new UnitsyncError("server_unreachable", `no unitsync server at ${socketPath} (${reason})${waited}; ${next}`);
}
