import type { Socket } from "bun";
import { ERRNO_NAMES, libc, type Libc } from "../protocol/libc.ts";

/**
 * One HTTP/1.1 exchange over a Unix socket, the request written and the answer read by
 * hand. Bun's `fetch` runs its HTTP client on a thread of its own, which a client process
 * pays to start for its one request, and `Bun.connect` still costs about 2 ms of CPU to set
 * up; so a request that does not wait (`exchangeNow`) is made with blocking system calls
 * through FFI, and one that streams (`exchange`) on `Bun.connect`, where a long wait blocks
 * nothing. Failures carry the codes `fetch` gives (`ENOENT`, `ECONNREFUSED`, `ECONNRESET`,
 * `Malformed_HTTP_Response`), and `ETIMEDOUT` for a blocking exchange's time-out.
 */

/** A failed exchange, with its system error code or `Malformed_HTTP_Response`. */
export class ExchangeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Exchange {
  method: string;
  /** The request target: `/v1/ping`. */
  path: string;
  /** A JSON body. */
  body?: string;
  /**
   * An answer whose body is longer comes back as it comes (a stream, or cut after this many
   * bytes when blocking), for the caller to refuse: nothing that size is read into memory.
   */
  maxBodyLength: number;
}

/** The longest status line and headers accepted; Bun's server sends a few hundred bytes. */
const MAX_HEAD = 64 * 1024;
/** sockaddr_un's path: 108 bytes with the NUL (connect(2) would say EINVAL, not why). */
const MAX_SOCKET_PATH = 107;

// Bytes as plain Uint8Arrays, not Buffers: the first use of `Buffer` in a Bun process loads
// Node's buffer module, 0.5 to 0.9 ms of every client command.
const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");
const HEAD_END = encoder.encode("\r\n\r\n");

function request({ method, path, body }: Exchange): Uint8Array {
  const head = `${method} ${path} HTTP/1.1\r\nHost: unitsync\r\nConnection: close\r\n`;
  if (body === undefined) return encoder.encode(`${head}\r\n`);
  const bytes = encoder.encode(body);
  return concat([encoder.encode(`${head}Content-Type: application/json\r\nContent-Length: ${bytes.length}\r\n\r\n`), bytes]);
}

function tooLongPath(socketPath: string): ExchangeError | undefined {
  if (encoder.encode(socketPath).length <= MAX_SOCKET_PATH) return undefined;
  return new ExchangeError("ENAMETOOLONG", `the socket path is longer than ${MAX_SOCKET_PATH} bytes`);
}

const cutShort = () => new ExchangeError("ECONNRESET", "the connection closed in the middle of the answer");

/** How an answer's body ends: it has none, at the last chunk, after a declared length, or when the connection closes. */
type Framing = "none" | "chunked" | "until closed" | number;

interface AnswerEvents {
  head(status: number, headers: Headers, framing: Framing): void;
  body(bytes: Uint8Array): void;
  /** The body is whole. */
  end(): void;
  error(error: ExchangeError): void;
}

/**
 * Reads an HTTP/1.1 answer from its bytes as they arrive: `push` each piece, `closed` when
 * the connection ends. Tells `on` the head once, then each piece of the body and its end,
 * or the error; nothing after an end or an error.
 */
class AnswerReader {
  private pending: Uint8Array = new Uint8Array(0);
  private framing: Framing | undefined;
  /** Bytes left: of the declared length, or of the current chunk (-1 between chunks). */
  private left = -1;
  private over = false;

  constructor(private readonly on: AnswerEvents) {}

  get done(): boolean {
    return this.over;
  }

  push(bytes: Uint8Array): void {
    if (this.over) return;
    this.pending = this.pending.length === 0 ? bytes : concat([this.pending, bytes]);
    if (this.framing === undefined) this.readHead();
    if (this.framing !== undefined) this.readBody();
  }

  closed(): void {
    if (this.over) return;
    if (this.framing === "until closed") return this.finish();
    this.fail(this.framing === undefined ? new ExchangeError("ECONNRESET", "the connection closed before the answer") : cutShort());
  }

  private finish(): void {
    this.over = true;
    this.on.end();
  }

  private fail(error: ExchangeError): void {
    this.over = true;
    this.on.error(error);
  }

  /** The status line and headers; once whole, how the body is framed. */
  private readHead(): void {
    const end = indexOfBytes(this.pending, HEAD_END);
    const lines = latin1(this.pending.subarray(0, end < 0 ? MAX_HEAD : end)).split("\r\n");
    // A line cut right after its CR: the LF is on its way.
    if (end < 0 && lines.at(-1)!.endsWith("\r")) lines[lines.length - 1] = lines.at(-1)!.slice(0, -1);
    const status = statusOf(lines[0]!, end >= 0 || lines.length > 1);
    if (status === undefined) return this.fail(notHttp("a status line"));
    const fields: [string, string][] = [];
    for (let i = 1; i < lines.length; i++) {
      const field = fieldOf(lines[i]!, end >= 0 || i < lines.length - 1);
      if (field === undefined) return this.fail(notHttp("a header line"));
      fields.push(field);
    }
    if (end < 0) {
      if (this.pending.length > MAX_HEAD) this.fail(notHttp("headers that end"));
      return;
    }
    if (status < 200 || status > 599) return this.fail(notHttp(`status ${status}`));
    const headers = new Headers();
    try {
      for (const [name, value] of fields) headers.append(name, value);
    } catch {
      return this.fail(notHttp("a header"));
    }
    this.pending = this.pending.subarray(end + HEAD_END.length);
    let framing: Framing;
    const declared = headers.get("content-length");
    if (status === 204 || status === 304) framing = "none";
    else if ((headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) framing = "chunked";
    else if (declared === null) framing = "until closed";
    else {
      framing = declared.length <= 15 && isDigits(declared) ? Number(declared) : NaN;
      if (Number.isNaN(framing)) return this.fail(notHttp("a content length"));
      this.left = framing;
    }
    this.framing = framing;
    this.on.head(status, headers, framing);
    if (framing === "none" || framing === 0) this.finish();
  }

  private readBody(): void {
    const framing = this.framing!;
    if (this.over) return;
    if (framing === "until closed") {
      this.take(this.pending.length);
      return;
    }
    if (typeof framing === "number") {
      this.take(Math.min(this.left, this.pending.length));
      if (this.left === 0) this.finish();
      return;
    }
    while (!this.over) {
      if (this.left > 0) {
        if (this.pending.length === 0) return;
        this.take(Math.min(this.left, this.pending.length));
        continue;
      }
      const eol = indexOfBytes(this.pending, CRLF);
      if (eol < 0) {
        if (this.pending.length > 1024) this.fail(notHttp("a chunk size"));
        return;
      }
      const line = latin1(this.pending.subarray(0, eol));
      this.pending = this.pending.subarray(eol + 2);
      if (this.left === 0) {
        // The CRLF that ends a chunk's data.
        if (line !== "") return this.fail(notHttp("the end of a chunk"));
        this.left = -1;
        continue;
      }
      // `1a` or `1a;extension`: hex digits, at most 8 of them.
      const digits = line.split(";", 1)[0]!.trimEnd();
      if (digits.length === 0 || digits.length > 8 || !isHex(digits)) return this.fail(notHttp("a chunk size"));
      this.left = parseInt(digits, 16);
      if (this.left === 0) return this.finish();
    }
  }

  /** Hands on the first `length` pending bytes (a copy: the buffer may be read again) as body. */
  private take(length: number): void {
    if (length === 0) return;
    this.on.body(new Uint8Array(this.pending.subarray(0, length)));
    this.pending = this.pending.subarray(length);
    if (this.left > 0) this.left -= length;
  }
}

/**
 * Sends one request on `Bun.connect` and resolves with the answer: once it is whole when its
 * length is declared (and within `maxBodyLength`), at its headers when it streams. The
 * connection closes with the answer, on `signal`, or when the caller cancels the body.
 */
export function exchange(socketPath: string, options: Exchange & { signal?: AbortSignal }): Promise<Response> {
  const { signal, maxBodyLength } = options;
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const badPath = tooLongPath(socketPath);
    if (badPath) return reject(badPath);
    let socket: Socket | undefined;
    let settled = false;
    let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
    /** The caller cancelled the body: later bytes go nowhere. */
    let cancelled = false;
    /** Once we end the connection, or see it end: its close event (which `end()` may fire at once) is no news. */
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      signal?.removeEventListener("abort", abort);
      socket?.end();
    };
    const fail = (error: unknown) => {
      close();
      if (!settled) {
        settled = true;
        return reject(error);
      }
      try {
        stream?.error(error);
      } catch {
        // already closed or cancelled
      }
    };
    const abort = () => fail(signal!.reason);
    signal?.addEventListener("abort", abort, { once: true });

    /** The body of an answer resolved whole, gathered here until its end. */
    let parts: Uint8Array[] | undefined;
    let answer: { status: number; headers: Headers } | undefined;
    const reader = new AnswerReader({
      head(status, headers, framing) {
        if (framing === "none" || (typeof framing === "number" && framing <= maxBodyLength)) {
          parts = [];
          answer = { status, headers };
          return;
        }
        settled = true;
        resolve(
          new Response(
            new ReadableStream<Uint8Array>({
              start: (controller) => void (stream = controller),
              cancel() {
                cancelled = true;
                close();
              },
            }),
            { status, headers },
          ),
        );
      },
      body(bytes) {
        if (parts) parts.push(bytes);
        else if (!cancelled) stream!.enqueue(bytes);
      },
      end() {
        close();
        if (parts) {
          settled = true;
          resolve(new Response(answer!.status === 204 || answer!.status === 304 ? null : concat(parts), answer!));
        } else if (!cancelled) stream!.close();
      },
      error: fail,
    });

    let unsent = request(options);
    const flush = (s: Socket) => {
      unsent = unsent.subarray(Math.max(s.write(unsent), 0));
    };
    Bun.connect({
      unix: socketPath,
      socket: {
        open(s) {
          socket = s;
          if (closed) return void s.end();
          flush(s);
        },
        drain(s) {
          if (unsent.length > 0) flush(s);
        },
        data(_, bytes) {
          reader.push(bytes);
        },
        close() {
          if (closed) return;
          closed = true;
          signal?.removeEventListener("abort", abort);
          reader.closed();
        },
        error(_, error) {
          fail(new ExchangeError((error as { code?: string }).code ?? "ECONNRESET", error.message));
        },
      },
    }).then(
      (s) => {
        socket = s;
      },
      (error: { code?: string; message?: string }) => fail(new ExchangeError(error.code ?? "ECONNREFUSED", error.message ?? "connect failed")),
    );
  });
}

/**
 * One exchange with blocking system calls, for a process with nothing else to do meanwhile:
 * the status and headers within `timeoutMs` (0: no limit; past it, `ETIMEDOUT`), and a
 * declared body of at most `maxBodyLength` bytes with them. Any other body (chunked, until
 * the connection closes, or longer) streams, each read blocking for as long as the server
 * takes, with no limit. Undefined where libc cannot be called (the caller uses `exchange`).
 */
export function exchangeNow(socketPath: string, options: Exchange & { timeoutMs: number }): Response | undefined {
  const c = libc();
  if (!c) return undefined;
  const badPath = tooLongPath(socketPath);
  if (badPath) throw badPath;
  const fail = (call: string): never => {
    const errno = c.errno();
    const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    throw new ExchangeError(code === "EAGAIN" ? "ETIMEDOUT" : code === "EPIPE" ? "ECONNRESET" : code, `${call}: ${code}`);
  };
  const AF_UNIX = 1;
  const SOCK_STREAM_CLOEXEC = 1 | 0o2000000;
  const fd = c.socket(AF_UNIX, SOCK_STREAM_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  let open = true;
  const close = () => {
    if (open) c.close(fd);
    open = false;
  };
  try {
    const endsAt = options.timeoutMs > 0 ? performance.now() + options.timeoutMs : Infinity;
    // SO_RCVTIMEO and SO_SNDTIMEO bound each blocking call (connect too) by the time left; 0 lifts them.
    const timeval = new BigInt64Array(2);
    const limit = (ms: number) => {
      timeval[0] = BigInt(Math.floor(ms / 1000));
      timeval[1] = BigInt((ms % 1000) * 1000);
      const SOL_SOCKET = 1;
      for (const option of [20, 21]) if (c.setsockopt(fd, SOL_SOCKET, option, c.ptr(timeval), 16) !== 0) fail("setsockopt");
    };
    const timeLeft = () => endsAt !== Infinity && limit(Math.max(1, Math.ceil(endsAt - performance.now())));
    timeLeft();
    // struct sockaddr_un: sa_family (2 bytes), then the path and its NUL.
    const address = new Uint8Array(110);
    address[0] = AF_UNIX;
    const path = encoder.encode(socketPath);
    address.set(path, 2);
    while (c.connect(fd, c.ptr(address), 2 + path.length + 1) !== 0) if (ERRNO_NAMES[c.errno()] !== "EINTR") fail("connect");
    const MSG_NOSIGNAL = 0x4000;
    const unsent = request(options);
    for (let at = 0; at < unsent.length; ) {
      timeLeft();
      const sent = c.send(fd, c.ptr(unsent, at), unsent.length - at, MSG_NOSIGNAL);
      if (sent < 0) {
        if (ERRNO_NAMES[c.errno()] !== "EINTR") fail("send");
      } else at += sent;
    }

    let head: { status: number; headers: Headers; whole: boolean } | undefined;
    const parts: Uint8Array[] = [];
    let failure: ExchangeError | undefined;
    const reader = new AnswerReader({
      head: (status, headers, framing) => {
        head = { status, headers, whole: framing === "none" || (typeof framing === "number" && framing <= options.maxBodyLength) };
      },
      body: (bytes) => void parts.push(bytes),
      end: () => {},
      error: (error) => void (failure = error),
    });
    const buffer = new Uint8Array(64 * 1024);
    /** One blocking read, handed to the reader. */
    const receive = () => {
      const got = c.recv(fd, c.ptr(buffer), buffer.length, 0);
      if (got < 0) {
        if (ERRNO_NAMES[c.errno()] !== "EINTR") fail("recv");
      } else if (got === 0) reader.closed();
      else reader.push(buffer.slice(0, got));
      if (failure) throw failure;
    };
    while (!reader.done && (head === undefined || head.whole)) {
      timeLeft();
      receive();
    }
    const { status, headers, whole } = head!;
    if (whole) {
      close();
      return new Response(status === 204 || status === 304 ? null : concat(parts), { status, headers });
    }
    // The body comes when it comes: no time limit on reading it.
    if (endsAt !== Infinity) limit(0);
    // Read only when asked (high-water mark 0): a read ahead would block before the caller has dealt with the last line.
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          try {
            while (parts.length === 0 && !reader.done) receive();
            for (const part of parts.splice(0)) controller.enqueue(part);
            if (reader.done) {
              close();
              controller.close();
            }
          } catch (error) {
            close();
            controller.error(error);
          }
        },
        cancel: close,
      },
      { highWaterMark: 0 },
    );
    return new Response(body, { status, headers });
  } catch (error) {
    close();
    throw error;
  }
}

/**
 * The status code of `HTTP/1.x NNN reason`, or undefined when `line` is no status line; a
 * line not `whole` yet (cut short) passes when it can still become one, with status 0.
 */
function statusOf(line: string, whole: boolean): number | undefined {
  const template = "HTTP/1.";
  for (let i = 0; i < line.length && i < 13; i++) {
    const c = line[i]!;
    const ok = i < 7 ? c === template[i] : i === 7 ? c === "0" || c === "1" : i === 8 || i === 12 ? c === " " : c >= "0" && c <= "9" && (i !== 9 || c !== "0");
    if (!ok) return undefined;
  }
  if (hasControl(line, 13)) return undefined;
  if (!whole) return 0;
  return line.length >= 12 ? Number(line.slice(9, 12)) : undefined;
}

/** A header line's name and value (trimmed), or undefined; a line not `whole` yet passes when it can still become one. */
function fieldOf(line: string, whole: boolean): [string, string] | undefined {
  const colon = line.indexOf(":");
  const name = colon < 0 ? line : line.slice(0, colon);
  if ((whole && (colon < 0 || name.length === 0)) || !isToken(name) || hasControl(line, name.length)) return undefined;
  return [name, colon < 0 ? "" : line.slice(colon + 1).trim()];
}

/** A control character other than tab, from `from` on: never in a status or header line. */
function hasControl(text: string, from: number): boolean {
  for (let i = from; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f) return true;
  }
  return false;
}

const TOKEN_PUNCTUATION = "!#$%&'*+-.^_`|~";

// Index loops rather than string iterators or spreads: each is built on its first use in a
// process, which a client command would pay for one header.
function isToken(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || TOKEN_PUNCTUATION.includes(c))) return false;
  }
  return true;
}

function isDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (!(text[i]! >= "0" && text[i]! <= "9")) return false;
  return text.length > 0;
}

function isHex(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!((c >= "0" && c <= "9") || (c >= "a" && c <= "f") || (c >= "A" && c <= "F"))) return false;
  }
  return true;
}

/** The pieces' bytes in one array. */
function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const part of parts) length += part.length;
  const whole = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return whole;
}

/** Where `needle` first occurs in `bytes`, or -1. */
function indexOfBytes(bytes: Uint8Array, needle: Uint8Array): number {
  const first = needle[0]!;
  for (let at = bytes.indexOf(first); at >= 0 && at + needle.length <= bytes.length; at = bytes.indexOf(first, at + 1)) {
    let i = 1;
    while (i < needle.length && bytes[at + i] === needle[i]) i++;
    if (i === needle.length) return at;
  }
  return -1;
}

/** Bytes as text, one character per byte (what HTTP's head is read as). */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let at = 0; at < bytes.length; at += 8192) text += String.fromCharCode.apply(null, bytes.subarray(at, at + 8192) as unknown as number[]);
  return text;
}

function notHttp(what: string): ExchangeError {
  return new ExchangeError("Malformed_HTTP_Response", `the answer is not HTTP: ${what}`);
}
