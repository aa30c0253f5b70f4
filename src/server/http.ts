import { GraphError } from "../graph/index.ts";
import { UnitsyncError, type ErrorBody, type ErrorCode } from "../protocol/index.ts";

/** Largest request body accepted; every real request is a few hundred bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Where Bun's HTTP layer itself cuts a body off (a bare 413, connection closed). Above our
 * own limit, so that bodies between the two get our JSON `payload_too_large` answer.
 */
export const HTTP_BODY_CEILING = 1024 * 1024;

const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_name: 400,
  bad_request: 400,
  usage: 400,
  not_registered: 404,
  not_found: 404,
  method_not_allowed: 405,
  cycle: 409,
  wrong_state: 409,
  conflict: 409,
  is_target: 409,
  dependency_failed: 409,
  payload_too_large: 413,
  timeout: 408,
  server_closing: 503,
  server_unreachable: 503,
  unexpected_answer: 502,
  too_slow: 429,
  limit_exceeded: 507,
  internal: 500,
};

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(`${JSON.stringify(body)}\n`, {
    status,
    headers: { "content-type": "application/json" },
  });
}

export function errorResponse(code: ErrorCode, message: string, headers: Record<string, string> = {}): Response {
  const body: ErrorBody = { error: { code, message } };
  const response = jsonResponse(body, HTTP_STATUS[code]);
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

/** Turns anything thrown while handling a request into the wire error; unknown errors stay opaque. */
export function toErrorBody(error: unknown): ErrorBody["error"] {
  if (error instanceof GraphError || error instanceof UnitsyncError) {
    return { code: error.code, message: error.message };
  }
  return { code: "internal", message: `internal server error: ${String(error)}` };
}

/** Reads a JSON object body; an empty body reads as `{}`. */
export async function readJsonObject(request: Request): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge();
  const text = new TextDecoder().decode(bytes);
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new UnitsyncError("bad_request", "request body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new UnitsyncError("bad_request", "request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

function tooLarge(): UnitsyncError {
  return new UnitsyncError("payload_too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`);
}

/** One for every streaming answer: a thousand waiting starts need not hold a thousand. */
const encoder = new TextEncoder();

/** Where a streaming answer's lines go; `gone` turns true once the client went away. */
export interface LineSink<Line> {
  write(line: Line): void;
  end(): void;
  readonly gone: boolean;
  /** Lines written but not yet taken by the connection: a client that stopped reading. */
  readonly backlog: number;
}

/**
 * An `application/x-ndjson` answer whose lines `begin` writes, now or later. `begin` may
 * throw before writing anything: the caller answers with a plain error then. It returns
 * the function to call when the client goes away.
 */
export function ndjsonResponse<Line>(request: Request, begin: (sink: LineSink<Line>) => () => void): Response {
  const sink = new NdjsonSink<Line>(request);
  const stream = new ReadableStream<Uint8Array>(sink);
  sink.detach = begin(sink);
  request.signal.addEventListener("abort", sink);
  return new Response(stream, { headers: { "content-type": "application/x-ndjson" } });
}

const nothing = () => {};

/**
 * The stream's source, the sink its lines are written to and the listener of its request's
 * abort, in one object whose methods are shared: a thousand waiting starts hold a thousand
 * of these, and closures would cost each of them about 0.3 KiB more.
 */
class NdjsonSink<Line> implements LineSink<Line> {
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private open = true;
  detach: () => void = nothing;

  constructor(private readonly request: Request) {}

  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
  }

  /** The client went away: the stream was cancelled, or the request aborted. */
  cancel(): void {
    this.open = false;
    this.detach();
  }

  handleEvent(): void {
    this.cancel();
  }

  write(line: Line): void {
    if (this.open) this.controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
  }

  end(): void {
    if (this.open) this.controller.close();
    this.open = false;
  }

  get gone(): boolean {
    return !this.open || this.request.signal.aborted;
  }

  get backlog(): number {
    return Math.max(0, -(this.controller.desiredSize ?? 0));
  }
}
