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
 * One connection carrying one request. `answer` grows as bytes arrive; `closed` resolves
 * when the server ends the connection or `close()` is called; `lines` reads an NDJSON body.
 */
export class RawConnection {
  private received = Buffer.alloc(0);
  private listeners = new Set<() => void>();
  private socket!: Bun.Socket<undefined>;
  isClosed = false;
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  private constructor() {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  /** Connects to `socketPath` and writes `request` (all of it, unless the socket refuses). */
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
        close: onClose,
        error: onClose,
        end: onClose,
      },
    });
    if (request.length > 0) connection.write(request);
    return connection;
  }

  write(bytes: string | Uint8Array): void {
    const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    let offset = 0;
    // Small requests go out in one write; a large one may need the socket to drain.
    while (offset < data.length) {
      const written = this.socket.write(data.subarray(offset));
      if (written <= 0) break;
      offset += written;
    }
  }

  /** Closes our side at once, as a killed client would. */
  close(): void {
    this.socket.terminate();
  }

  /** Everything the server sent so far, as text. */
  get raw(): string {
    return this.received.toString();
  }

  get answer(): RawAnswer | undefined {
    return parseAnswer(this.received);
  }

  /** The NDJSON lines of the body received so far. */
  get lines(): unknown[] {
    const body = this.answer?.body ?? "";
    return body
      .split("\n")
      .slice(0, -1)
      .map((line) => JSON.parse(line));
  }

  /** Resolves once `condition` holds; rejects if the connection closes first or after `ms`. */
  waitFor(condition: (connection: RawConnection) => boolean, what = "condition", ms = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.raw)}`)), ms);
      const check = () => {
        if (condition(this)) finish();
        else if (this.isClosed) finish(new Error(`connection closed before ${what}; got ${JSON.stringify(this.raw)}`));
      };
      const finish = (error?: Error) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        if (error) reject(error);
        else resolve();
      };
      this.listeners.add(check);
      check();
    });
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

function parseAnswer(bytes: Buffer): RawAnswer | undefined {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const [statusLine = "", ...headerLines] = bytes.subarray(0, headEnd).toString().split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = bytes.subarray(headEnd + 4);
  if (headers["transfer-encoding"]?.includes("chunked")) return { status, headers, ...decodeChunked(rest) };
  const length = Number(headers["content-length"] ?? 0);
  return { status, headers, body: rest.subarray(0, length).toString(), complete: rest.length >= length };
}

function decodeChunked(bytes: Buffer): { body: string; complete: boolean } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", offset);
    if (lineEnd < 0) return { body: Buffer.concat(parts).toString(), complete: false };
    const size = Number.parseInt(bytes.subarray(offset, lineEnd).toString(), 16);
    if (size === 0) return { body: Buffer.concat(parts).toString(), complete: true };
    const start = lineEnd + 2;
    if (bytes.length < start + size + 2) return { body: Buffer.concat(parts).toString(), complete: false };
    parts.push(bytes.subarray(start, start + size));
    offset = start + size + 2;
  }
}
