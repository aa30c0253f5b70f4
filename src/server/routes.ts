import { REQUIREMENTS, validateUnitName, type Requirement, type UnitGraph } from "../graph/index.ts";
import {
  API_PREFIX,
  UnitsyncError,
  VERSION,
  type CompleteResponse,
  type PingResponse,
  type StartLine,
  type UnitListEntry,
  type UnitStatusResponse,
  type WantResponse,
} from "../protocol/index.ts";
import { errorResponse, jsonResponse, readJsonObject, toErrorBody } from "./http.ts";
import type { StartSink, StartWaiters } from "./waiters.ts";

/** Longest failure reason kept; reasons come from scripts and end up in one-line messages. */
export const MAX_REASON_LENGTH = 1_000;

/** Coder's `required_status` column for each requirement. */
const REQUIRED_STATUS: Record<Requirement, string> = {
  success: "completed",
  completion: "completed|failed",
  started: "started",
};

/** What `start` waits when a request names no time-out: Coder's default. */
export const DEFAULT_START_TIMEOUT_MS = 5 * 60_000;

type Handler = (request: Request, unit: string) => Response | Promise<Response>;
type Methods = Partial<Record<"GET" | "POST", Handler>>;

/** Builds the request handler: HTTP in, graph calls, JSON or NDJSON out. */
export function createRouter(graph: UnitGraph, waiters: StartWaiters) {
  const ping: Methods = {
    GET: () => jsonResponse({ version: VERSION, pid: process.pid } satisfies PingResponse),
  };

  const units: Methods = {
    GET: () =>
      jsonResponse(
        graph.units().map(
          (u): UnitListEntry => ({ unit_name: u.name, status: u.status, is_ready: u.ready, reason: u.reason }),
        ),
      ),
  };

  const unitStatus: Methods = {
    GET: (_request, unit) => {
      validateUnitName(unit);
      const body: UnitStatusResponse = {
        unit_name: unit,
        status: graph.statusOf(unit) ?? "not registered",
        is_ready: graph.isReady(unit),
        reason: graph.reasonOf(unit),
        dependencies: graph.dependenciesOf(unit).map((d) => ({
          depends_on: d.dependsOn,
          required_status: REQUIRED_STATUS[d.requires],
          current_status: d.currentStatus ?? "not registered",
          is_satisfied: d.satisfied,
          requires: d.requires,
        })),
      };
      return jsonResponse(body);
    },
  };

  const dependencies: Methods = {
    POST: async (request, unit) => {
      const body = await readJsonObject(request);
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
    },
  };

  const start: Methods = {
    POST: async (request, unit) => {
      const body = await readJsonObject(request);
      const timeoutMs = body.timeout_ms ?? DEFAULT_START_TIMEOUT_MS;
      if (typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < 0) {
        throw new UnitsyncError("bad_request", `"timeout_ms" must be a whole number of milliseconds, 0 or more`);
      }
      return startResponse(request, unit, timeoutMs);
    },
  };

  const complete: Methods = {
    POST: (_request, unit) => {
      graph.complete(unit);
      return jsonResponse({ unit_name: unit, status: "completed" } satisfies CompleteResponse);
    },
  };

  const fail: Methods = {
    POST: async (request, unit) => {
      const body = await readJsonObject(request);
      const reason = body.reason ?? "";
      if (typeof reason !== "string") throw new UnitsyncError("bad_request", `"reason" must be a string`);
      graph.fail(unit, oneLine(reason));
      return jsonResponse({ unit_name: unit, status: "failed", reason: graph.reasonOf(unit) } satisfies CompleteResponse);
    },
  };

  function startResponse(request: Request, unit: string, timeoutMs: number): Response {
    const encoder = new TextEncoder();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let open = true;
    let detach = () => {};
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => void (controller = c),
      cancel: () => {
        open = false;
        detach();
      },
    });
    const sink: StartSink = {
      write: (line: StartLine) => open && controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`)),
      end: () => {
        if (open) controller.close();
        open = false;
      },
      get gone() {
        return !open || request.signal.aborted;
      },
    };
    // Throws before anything is written when the unit cannot start at all: a plain error answer.
    detach = waiters.begin(unit, timeoutMs, sink);
    request.signal.addEventListener("abort", () => {
      open = false;
      detach();
    });
    return new Response(stream, { headers: { "content-type": "application/x-ndjson" } });
  }

  const table: Array<[RegExp, Methods]> = [
    [/^\/ping$/, ping],
    [/^\/units$/, units],
    [/^\/units\/([^/]+)$/, unitStatus],
    [/^\/units\/([^/]+)\/dependencies$/, dependencies],
    [/^\/units\/([^/]+)\/start$/, start],
    [/^\/units\/([^/]+)\/complete$/, complete],
    [/^\/units\/([^/]+)\/fail$/, fail],
  ];

  return async function handle(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (!path.startsWith(`${API_PREFIX}/`)) {
      return errorResponse("not_found", `no route ${path}; every route is under ${API_PREFIX}/`);
    }
    const route = path.slice(API_PREFIX.length);
    for (const [pattern, methods] of table) {
      const match = pattern.exec(route);
      if (!match) continue;
      const handler = methods[request.method as keyof Methods];
      if (!handler) {
        const allowed = Object.keys(methods).join(", ");
        return errorResponse("method_not_allowed", `${request.method} is not allowed on ${path}; use ${allowed}`, {
          allow: allowed,
        });
      }
      try {
        const unit = match[1] === undefined ? "" : decodeUnitName(match[1]);
        return await handler(request, unit);
      } catch (error) {
        const { code, message } = toErrorBody(error);
        return errorResponse(code, message);
      }
    }
    return errorResponse("not_found", `no route ${request.method} ${path}`);
  };
}

function decodeUnitName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new UnitsyncError("bad_request", `unit name in the path is not valid percent-encoding`);
  }
}

/** A reason fit for one-line messages: whitespace runs and control characters become one space. */
function oneLine(reason: string): string {
  const flat = reason.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  return flat.length > MAX_REASON_LENGTH ? `${flat.slice(0, MAX_REASON_LENGTH)}...` : flat;
}
