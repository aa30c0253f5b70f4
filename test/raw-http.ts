// HTTP/1.1 over a Unix socket, by hand: for tests and benchmarks that need more connections
// than fetch opens at once (Bun caps concurrent fetches), or exact control of the bytes sent
// and of the moment a connection is dropped.

/** An answer as it arrived so far: status, lower-cased headers, and the decoded body. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** True once the whole answer arrived (content-length reached or last chunk seen). */
  complete: boolean;
}

/**
 * One connection carrying one request (or several, pipelined). `answer` grows as bytes arrive;
 * `closed` resolves when the server ends the connection or `close()` is called; `lines` reads
 * an NDJSON body; `bytes` is everything received, for `parseAnswers`.
 */
export class RawConnection {
  private received = Buffer.alloc(0);
  private listeners = new Set<() => void>();
  /** Bytes the socket has not taken yet: a large request goes out as the socket drains. */
  private unsent: Uint8Array[] = [];
  private socket!: Bun.Socket<undefined>;
  isClosed = false;
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  private constructor() {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  /** Connects to `socketPath` and writes `request`. */
  static async open(socketPath: string, request: string | Uint8Array = ""): Promise<RawConnection> {
    const connection = new RawConnection();
    const onClose = () => {
      connection.isClosed = true;
      connection.markClosed();
      connection.notify();
    };
    connection.socket = await Bun.connect({
      unix: socketPath,
      socket: {
        data: (_socket, chunk) => {
          connection.received = Buffer.concat([connection.received, chunk]);
          connection.notify();
        },
        drain: () => connection.flush(),
        close: onClose,
        error: onClose,
        end: onClose,
      },
    });
    if (request.length > 0) connection.write(request);
    return connection;
  }

  /** Queues `bytes` behind anything not sent yet and sends what the socket takes now. */
  write(bytes: string | Uint8Array): void {
    this.unsent.push(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
    this.flush();
  }

  /** Closes our side at once, as a killed client would. */
  close(): void {
    this.socket.terminate();
  }

  /** Everything the server sent so far. */
  get bytes(): Buffer {
    return this.received;
  }

  /** Everything the server sent so far, as text. */
  get raw(): string {
    return this.received.toString();
  }

  /** The first answer, as far as it arrived. */
  get answer(): RawAnswer | undefined {
    const first = parseAnswers(this.received, ["POST"], this.isClosed).answers[0];
    return first && { status: first.status, headers: first.headers, body: first.body.toString(), complete: first.complete };
  }

  /** The NDJSON lines of the body received so far. */
  get lines(): unknown[] {
    const body = this.answer?.body ?? "";
    return body
      .split("\n")
      .slice(0, -1)
      .map((line) => JSON.parse(line));
  }

  /** Resolves with how a wait for `condition` ended: it held, the connection closed first, or `ms` passed. */
  outcome(condition: (connection: RawConnection) => boolean, ms: number): Promise<"met" | "closed" | "timeout"> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish("timeout"), ms);
      const check = () => {
        if (condition(this)) finish("met");
        else if (this.isClosed) finish("closed");
      };
      const finish = (how: "met" | "closed" | "timeout") => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(how);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Resolves once `condition` holds; rejects if the connection closes first or after `ms`. */
  async waitFor(condition: (connection: RawConnection) => boolean, what = "condition", ms = 10_000): Promise<void> {
    const how = await this.outcome(condition, ms);
    if (how === "closed") throw new Error(`connection closed before ${what}; got ${JSON.stringify(this.raw)}`);
    if (how === "timeout") throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.raw)}`);
  }

  private flush(): void {
    while (this.unsent.length > 0 && !this.isClosed) {
      const next = this.unsent[0]!;
      const written = this.socket.write(next);
      if (written < 0) return;
      if (written < next.length) {
        this.unsent[0] = next.subarray(written);
        return;
      }
      this.unsent.shift();
    }
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/** An HTTP/1.1 request as bytes; a body gets its content-length unless `headers` set one. */
export function httpRequest(method: string, path: string, body?: string, headers: Record<string, string> = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, "host: localhost"];
  const all = { ...headers };
  if (body !== undefined && !Object.keys(all).some((name) => name.toLowerCase() === "content-length")) {
    all["content-length"] = String(new TextEncoder().encode(body).length);
    all["content-type"] ??= "application/json";
  }
  for (const [name, value] of Object.entries(all)) lines.push(`${name}: ${value}`);
  return `${lines.join("\r\n")}\r\n\r\n${body ?? ""}`;
}

/** Sends one request on its own connection and resolves with the whole answer. */
export async function rawExchange(socketPath: string, request: string | Uint8Array, ms = 10_000): Promise<RawAnswer> {
  const connection = await RawConnection.open(socketPath, request);
  try {
    await connection.waitFor((c) => c.answer?.complete === true, "a complete answer", ms);
    return connection.answer!;
  } finally {
    connection.close();
  }
}

/**
 * Opens `POST /v1/units/{unit}/start` on its own connection and resolves once the server
 * answered its first line (waiting, started or error): the start is then held open.
 */
export async function holdStart(socketPath: string, unit: string, body: Record<string, unknown> = {}): Promise<RawConnection> {
  const connection = await RawConnection.open(
    socketPath,
    httpRequest("POST", `/v1/units/${encodeURIComponent(unit)}/start`, JSON.stringify(body)),
  );
  await connection.waitFor((c) => c.lines.length > 0 || c.answer?.complete === true, `the first line of ${unit}'s start`);
  return connection;
}

/** One answer as the bytes give it; `body` is decoded from its chunks. */
export interface HttpAnswer {
  status: number;
  statusLine: string;
  headers: Record<string, string>;
  body: Buffer;
  complete: boolean;
}

/**
 * Splits the bytes a connection received into answers, one per request `methods` names (a
 * HEAD answer has no body); 1xx interim answers are skipped. `malformed` says why the bytes
 * are not HTTP/1.1 answers, when they are not; `closed` ends a body without a length.
 */
export function parseAnswers(bytes: Buffer, methods: readonly string[], closed: boolean): { answers: HttpAnswer[]; malformed?: string } {
  const answers: HttpAnswer[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const headEnd = bytes.indexOf("\r\n\r\n", offset);
    if (headEnd < 0) {
      if (closed) return { answers, malformed: `the connection closed inside an answer's head: ${show(bytes.subarray(offset))}` };
      break;
    }
    const [statusLine = "", ...lines] = bytes.subarray(offset, headEnd).toString("latin1").split("\r\n");
    const statusMatch = /^HTTP\/1\.[01] ([1-5]\d\d) [^\r\n]*$/.exec(statusLine);
    if (!statusMatch) return { answers, malformed: `bad status line ${JSON.stringify(statusLine)}` };
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) return { answers, malformed: `bad header line ${JSON.stringify(line)}` };
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(statusMatch[1]);
    const rest = bytes.subarray(headEnd + 4);
    if (status < 200) {
      offset = headEnd + 4;
      continue;
    }
    const method = methods[answers.length] ?? "GET";
    let body: Buffer;
    let used: number;
    let complete: boolean;
    if (method === "HEAD" || status === 204 || status === 304) {
      [body, used, complete] = [Buffer.alloc(0), 0, true];
    } else if (headers["transfer-encoding"]?.toLowerCase().includes("chunked")) {
      const decoded = decodeChunked(rest);
      if (decoded.malformed) return { answers, malformed: decoded.malformed };
      [body, used, complete] = [decoded.body, decoded.used, decoded.complete];
    } else if (headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      if (!Number.isInteger(length) || length < 0) return { answers, malformed: `bad content-length ${headers["content-length"]}` };
      [body, used, complete] = [rest.subarray(0, length), Math.min(length, rest.length), rest.length >= length];
    } else {
      [body, used, complete] = [rest, rest.length, closed];
    }
    answers.push({ status, statusLine, headers, body, complete });
    if (!complete) break;
    offset = headEnd + 4 + used;
  }
  return { answers };
}

function decodeChunked(bytes: Buffer): { body: Buffer; used: number; complete: boolean; malformed?: string } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", offset);
    if (lineEnd < 0) return { body: Buffer.concat(parts), used: offset, complete: false };
    const sizeText = bytes.subarray(offset, lineEnd).toString("latin1");
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return { body: Buffer.alloc(0), used: 0, complete: false, malformed: `bad chunk size ${JSON.stringify(sizeText)}` };
    const size = Number.parseInt(sizeText, 16);
    const start = lineEnd + 2;
    if (bytes.length < start + size + 2) return { body: Buffer.concat(parts), used: offset, complete: false };
    if (size === 0) return { body: Buffer.concat(parts), used: start + 2, complete: true };
    parts.push(bytes.subarray(start, start + size));
    offset = start + size + 2;
  }
}

/** Bytes for a failure message: as latin1 text, cut at `limit`. */
export function show(bytes: Uint8Array, limit = 400): string {
  const text = Buffer.from(bytes.subarray(0, limit)).toString("latin1");
  return JSON.stringify(text) + (bytes.length > limit ? ` ...(${bytes.length} bytes)` : "");
}
