import type { Socket } from "bun";

/**
 * One HTTP/1.1 exchange over a Unix socket, on `Bun.connect`: the request written by hand, the
 * answer read by hand. Bun's `fetch` runs its HTTP client on a thread of its own, which a
 * client process pays to start for its one request (2 to 3 ms of CPU of a 30 ms `ping` on a
 * 2-core machine); a socket on the main event loop does not. Failures carry the codes `fetch`
 * gives (`ENOENT`, `ECONNREFUSED`, `ECONNRESET`, `Malformed_HTTP_Response`), so the client
 * words them as before.
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
  signal?: AbortSignal;
  /**
   * An answer declaring a longer body comes back without it (`content-length` still says
   * how long): the caller refuses it, and nothing that size is read into memory.
   */
  maxBodyLength: number;
}

/** The longest status line and headers accepted; Bun's server sends a few hundred bytes. */
const MAX_HEAD = 64 * 1024;
/** sockaddr_un's path: 108 bytes with the NUL (connect(2) would say EINVAL, not why). */
const MAX_SOCKET_PATH = 107;

const CRLF = Buffer.from("\r\n");
const HEAD_END = Buffer.from("\r\n\r\n");

/**
 * Sends one request and resolves with the answer: once it is whole when its length is
 * declared, at its headers when it streams (chunked, or until the connection closes). The
 * connection closes with the answer, or when the caller cancels its body.
 */
export function exchange(socketPath: string, { method, path, body, signal, maxBodyLength }: Exchange): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) {
      return reject(new ExchangeError("ENAMETOOLONG", `the socket path is longer than ${MAX_SOCKET_PATH} bytes`));
    }
    let socket: Socket | undefined;
    let settled = false;
    let pending: Buffer = Buffer.alloc(0);
    /** Set once the headers are read: takes every later byte of the body. */
    let onBody: ((bytes: Buffer) => void) | undefined;
    /** Set once the headers are read: what a closed connection means for the body. */
    let onClose: (() => void) | undefined;
    let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
    /** The caller cancelled the body: later bytes go nowhere. */
    let cancelled = false;
    const push = (bytes: Uint8Array) => {
      if (!cancelled && bytes.length > 0) stream!.enqueue(bytes);
    };

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
        reject(error);
      } else {
        try {
          stream?.error(error);
        } catch {
          // already closed or cancelled
        }
      }
    };
    const answer = (response: Response) => {
      settled = true;
      resolve(response);
    };
    const abort = () => fail(signal!.reason);
    signal?.addEventListener("abort", abort, { once: true });

    let request = Buffer.from(
      `${method} ${path} HTTP/1.1\r\nHost: unitsync\r\nConnection: close\r\n` +
        (body === undefined ? "\r\n" : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
    );
    const flush = (s: Socket) => {
      const written = s.write(request);
      request = request.subarray(Math.max(written, 0));
    };

    /** Reads the status line and headers; on a whole head, decides how the body is framed. */
    const readHead = () => {
      const end = pending.indexOf(HEAD_END);
      const text = pending.subarray(0, end < 0 ? MAX_HEAD : end).toString("latin1");
      const lines = text.split("\r\n");
      // A line cut right after its CR: the LF is on its way.
      if (end < 0 && lines.at(-1)!.endsWith("\r")) lines[lines.length - 1] = lines.at(-1)!.slice(0, -1);
      const status = statusOf(lines[0]!, end >= 0 || lines.length > 1);
      if (status === undefined) return fail(notHttp("a status line"));
      const fields: [string, string][] = [];
      for (let i = 1; i < lines.length; i++) {
        const field = fieldOf(lines[i]!, end >= 0 || i < lines.length - 1);
        if (field === undefined) return fail(notHttp("a header line"));
        fields.push(field);
      }
      if (end < 0) {
        if (pending.length > MAX_HEAD) fail(notHttp("headers that end"));
        return;
      }
      if (status < 200 || status > 599) return fail(notHttp(`status ${status}`));
      const headers = new Headers();
      try {
        for (const [name, value] of fields) headers.append(name, value);
      } catch {
        return fail(notHttp("a header"));
      }
      const rest = pending.subarray(end + HEAD_END.length);
      pending = Buffer.alloc(0);
      if (status === 204 || status === 304) {
        close();
        return answer(new Response(null, { status, headers }));
      }
      if ((headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) return streamBody(status, headers, rest, "chunked");
      const declared = headers.get("content-length");
      if (declared === null) return streamBody(status, headers, rest, "until closed");
      const length = declared.length <= 15 && isDigits(declared) ? Number(declared) : NaN;
      if (Number.isNaN(length)) return fail(notHttp("a content length"));
      // Read as it comes, for the caller to give up on once past its limit.
      if (length > maxBodyLength) return streamBody(status, headers, rest, length);
      const parts: Buffer[] = [];
      let got = 0;
      onBody = (bytes) => {
        parts.push(bytes);
        got += bytes.length;
        if (got < length) return;
        close();
        answer(new Response(Buffer.concat(parts, got).subarray(0, length), { status, headers }));
      };
      onClose = () => fail(new ExchangeError("ECONNRESET", "the connection closed in the middle of the answer"));
      if (length === 0 || rest.length > 0) onBody(rest);
    };

    /** The body as a stream: HTTP chunks, a declared number of bytes, or every byte until the connection closes. */
    const streamBody = (status: number, headers: Headers, rest: Buffer, framing: "chunked" | "until closed" | number) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          stream = controller;
        },
        cancel() {
          cancelled = true;
          close();
        },
      });
      answer(new Response(body, { status, headers }));
      if (framing === "until closed") {
        onBody = push;
        onClose = () => {
          if (!cancelled) stream!.close();
        };
      } else if (typeof framing === "number") {
        let left = framing;
        onBody = (bytes) => {
          push(bytes.subarray(0, left));
          left -= Math.min(left, bytes.length);
          if (left > 0) return;
          close();
          if (!cancelled) stream!.close();
        };
        onClose = () => fail(new ExchangeError("ECONNRESET", "the connection closed in the middle of the answer"));
      } else {
        /** Bytes left in the current chunk, or -1 between chunks; after the last chunk, "done". */
        let left = -1;
        let done = false;
        onBody = (bytes) => {
          pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
          while (!done) {
            if (left > 0) {
              if (pending.length === 0) return;
              const take = pending.subarray(0, left);
              push(new Uint8Array(take));
              left -= take.length;
              pending = pending.subarray(take.length);
              continue;
            }
            const eol = pending.indexOf(CRLF);
            if (eol < 0) {
              if (pending.length > 1024) return fail(notHttp("a chunk size"));
              return;
            }
            const line = pending.subarray(0, eol).toString("latin1");
            pending = pending.subarray(eol + 2);
            if (left === 0) {
              // The CRLF that ends a chunk's data.
              if (line !== "") return fail(notHttp("the end of a chunk"));
              left = -1;
              continue;
            }
            // `1a` or `1a;extension`: hex digits, at most 8 of them.
            const digits = line.split(";", 1)[0]!.trimEnd();
            if (digits.length === 0 || digits.length > 8 || !isHex(digits)) return fail(notHttp("a chunk size"));
            left = parseInt(digits, 16);
            if (left === 0) {
              done = true;
              close();
              if (!cancelled) stream!.close();
            }
          }
        };
        onClose = () => {
          if (!done) fail(new ExchangeError("ECONNRESET", "the connection closed in the middle of the answer"));
        };
      }
      if (rest.length > 0) onBody!(rest);
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
          if (request.length > 0) flush(s);
        },
        data(_, bytes) {
          if (onBody) return onBody(bytes);
          pending = pending.length === 0 ? bytes : Buffer.concat([pending, bytes]);
          readHead();
        },
        close() {
          if (closed) return;
          closed = true;
          signal?.removeEventListener("abort", abort);
          if (onClose) return onClose();
          fail(new ExchangeError("ECONNRESET", "the connection closed before the answer"));
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

function notHttp(what: string): ExchangeError {
  return new ExchangeError("Malformed_HTTP_Response", `the answer is not HTTP: ${what}`);
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

function isToken(text: string): boolean {
  for (const c of text) {
    if (!((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || TOKEN_PUNCTUATION.includes(c))) return false;
  }
  return true;
}

function isDigits(text: string): boolean {
  return text.length > 0 && [...text].every((c) => c >= "0" && c <= "9");
}

function isHex(text: string): boolean {
  return [...text].every((c) => (c >= "0" && c <= "9") || (c >= "a" && c <= "f") || (c >= "A" && c <= "F"));
}
