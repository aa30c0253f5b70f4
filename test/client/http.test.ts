import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ExchangeError, exchange, exchangeNow } from "../../src/client/http.ts";
import { tempDir } from "../helpers.ts";

/** A fake server that answers every connection with `bytes`, sent in pieces of `piece` bytes, then closes. */
function rawServer(socketPath: string, bytes: string, piece = Infinity) {
  const requests: string[] = [];
  const listener = Bun.listen({
    unix: socketPath,
    socket: {
      async data(socket, data) {
        requests.push(data.toString());
        const all = Buffer.from(bytes);
        for (let at = 0; at < all.length; at += piece) {
          socket.write(all.subarray(at, at + piece));
          socket.flush();
          if (piece !== Infinity) await Bun.sleep(1);
        }
        socket.end();
      },
    },
  });
  return { requests, [Symbol.dispose]: () => listener.stop(true) };
}

async function outcome(promise: Promise<Response>): Promise<unknown> {
  try {
    const response = await promise;
    return { status: response.status, type: response.headers.get("content-type"), body: await response.text() };
  } catch (error) {
    return error instanceof ExchangeError ? { code: error.code } : error;
  }
}

const JSON_ANSWER = 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{"a":"é"}';
const CHUNKED = "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n6;x=1\r\nline1\n\r\n6\r\nline2\n\r\n0\r\n\r\n";

test.each([
  ["a JSON answer", JSON_ANSWER, { status: 200, type: "application/json", body: '{"a":"é"}' }],
  ["a chunked stream", CHUNKED, { status: 200, type: "application/x-ndjson", body: "line1\nline2\n" }],
  ["a body until the connection closes", "HTTP/1.0 404 Not Found\r\ncontent-type: text/plain\r\n\r\nnot here", { status: 404, type: "text/plain", body: "not here" }],
  ["no content", "HTTP/1.1 204 No Content\r\n\r\n", { status: 204, type: null, body: "" }],
  ["nothing", "", { code: "ECONNRESET" }],
  ["headers cut short", "HTTP/1.1 200 OK\r\ncontent-ty", { code: "ECONNRESET" }],
  ["a status line cut short", "HTTP/1.1 2", { code: "ECONNRESET" }],
  ["a body cut short", "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{", { code: "ECONNRESET" }],
  ["a stream cut short", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{", { code: "ECONNRESET" }],
  ["another protocol", "SSH-2.0-OpenSSH_9.6\r\n", { code: "Malformed_HTTP_Response" }],
  ["binary", "\x00\x01\x02", { code: "Malformed_HTTP_Response" }],
  ["a broken status code", "HTTP/1.1 abc OK\r\n\r\n", { code: "Malformed_HTTP_Response" }],
  ["an interim status", "HTTP/1.1 100 Continue\r\n\r\n", { code: "Malformed_HTTP_Response" }],
  ["a header without a colon", "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", { code: "Malformed_HTTP_Response" }],
  ["a control character in a header", "HTTP/1.1 200 OK\r\nx: a\x01b\r\n\r\n", { code: "Malformed_HTTP_Response" }],
  ["a bad length", "HTTP/1.1 200 OK\r\ncontent-length: 1x\r\n\r\n", { code: "Malformed_HTTP_Response" }],
])("%s", async (_, bytes, expected) => {
  using dir = tempDir();
  const socketPath = join(dir.path, "s.sock");
  using _server = rawServer(socketPath, bytes);
  expect(await outcome(exchange(socketPath, { method: "GET", path: "/v1/ping", maxBodyLength: 1000 }))).toEqual(expected);
});

test("a broken chunk fails the body with Malformed_HTTP_Response", async () => {
  using dir = tempDir();
  const socketPath = join(dir.path, "s.sock");
  using _server = rawServer(socketPath, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n");
  const response = await exchange(socketPath, { method: "GET", path: "/", maxBodyLength: 1000 });
  expect(await response.text().catch((error: ExchangeError) => error.code)).toBe("Malformed_HTTP_Response");
});

test("an answer that arrives a byte at a time is the same answer", async () => {
  using dir = tempDir();
  const socketPath = join(dir.path, "s.sock");
  for (const bytes of [JSON_ANSWER, CHUNKED]) {
    using _server = rawServer(socketPath, bytes, 1);
    const whole = await outcome(exchange(socketPath, { method: "GET", path: "/", maxBodyLength: 1000 }));
    expect(whole).toMatchObject({ status: 200, body: bytes === JSON_ANSWER ? '{"a":"é"}' : "line1\nline2\n" });
  }
});

test("the request: method, target, host, a closing connection and a JSON body with its length in bytes", async () => {
  using dir = tempDir();
  const socketPath = join(dir.path, "s.sock");
  using server = rawServer(socketPath, JSON_ANSWER);
  await exchange(socketPath, { method: "POST", path: "/v1/units/%C3%A9/complete", body: '{"reason":"é"}', maxBodyLength: 1000 });
  expect(server.requests.join("")).toBe(
    'POST /v1/units/%C3%A9/complete HTTP/1.1\r\nHost: unitsync\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"reason":"é"}',
  );
});

test("a body longer than the limit streams, so the caller can stop reading", async () => {
  using dir = tempDir();
  const socketPath = join(dir.path, "s.sock");
  using _server = rawServer(socketPath, `HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n${"x".repeat(5000)}`);
  const response = await exchange(socketPath, { method: "GET", path: "/", maxBodyLength: 100 });
  expect(response.headers.get("content-length")).toBe("5000");
  expect((await response.text()).length).toBe(5000);
});

test("a real server: JSON, a large body in both directions, and a stream", async () => {
  using dir = tempDir();
  const socketPath = join(dir.path, "s.sock");
  using _server = Bun.serve({
    unix: socketPath,
    async fetch(request) {
      if (request.method === "POST") return Response.json({ got: (await request.text()).length });
      return new Response(
        new ReadableStream({
          async start(controller) {
            for (let i = 0; i < 3; i++) {
              controller.enqueue(new TextEncoder().encode(`{"n":${i}}\n`));
              await Bun.sleep(5);
            }
            controller.close();
          },
        }),
        { headers: { "content-type": "application/x-ndjson" } },
      );
    },
  });
  const body = JSON.stringify({ depends_on: Array.from({ length: 50_000 }, (_, i) => `unit-${i}`) });
  const posted = await exchange(socketPath, { method: "POST", path: "/", body, maxBodyLength: 1000 });
  expect(await posted.json()).toEqual({ got: body.length });
  const streamed = await exchange(socketPath, { method: "GET", path: "/", maxBodyLength: 1000 });
  expect(await streamed.text()).toBe('{"n":0}\n{"n":1}\n{"n":2}\n');
});

test.each([
  ["no socket file", (dir: string) => join(dir, "missing.sock"), "ENOENT"],
  ["a path too long for a socket", (dir: string) => join(dir, "x".repeat(120)), "ENAMETOOLONG"],
])("%s: %s", async (_, pathIn, code) => {
  using dir = tempDir();
  expect(await outcome(exchange(pathIn(dir.path), { method: "GET", path: "/", maxBodyLength: 1000 }))).toEqual({ code });
});

test("an abort before the answer rejects with the signal's reason and closes the connection", async () => {
  using dir = tempDir();
  const socketPath = join(dir.path, "s.sock");
  let closed = false;
  using _listener = Bun.listen({ unix: socketPath, socket: { data() {}, close: () => void (closed = true) } });
  const error = await exchange(socketPath, { method: "GET", path: "/", signal: AbortSignal.timeout(50), maxBodyLength: 1000 }).catch((e: Error) => e);
  expect((error as Error).name).toBe("TimeoutError");
  await Bun.sleep(50);
  expect(closed).toBe(true);
});

describe("a blocking exchange, against a server in another process", () => {
  /** Serves `bytes` (after `delayMs`) on `socketPath` from a child process; resolves once it listens. */
  async function childServer(socketPath: string, bytes: string, delayMs = 0) {
    const child = Bun.spawn(
      [
        process.execPath,
        "-e",
        `Bun.listen({ unix: ${JSON.stringify(socketPath)}, socket: { async data(s) { await Bun.sleep(${delayMs}); s.end(${JSON.stringify(bytes)}); } } }); console.log("listening");`,
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    const reader = child.stdout.getReader();
    await reader.read();
    return { [Symbol.dispose]: () => child.kill() };
  }

  const now = (socketPath: string, timeoutMs = 5000) => {
    try {
      const response = exchangeNow(socketPath, { method: "GET", path: "/v1/ping", maxBodyLength: 1000, timeoutMs })!;
      return Promise.resolve(response).then(async (r) => ({ status: r.status, type: r.headers.get("content-type"), body: await r.text() }));
    } catch (error) {
      return Promise.resolve(error instanceof ExchangeError ? { code: error.code } : error);
    }
  };

  test.each([
    ["a JSON answer", JSON_ANSWER, { status: 200, type: "application/json", body: '{"a":"é"}' }],
    ["a chunked stream", CHUNKED, { status: 200, type: "application/x-ndjson", body: "line1\nline2\n" }],
    ["no content", "HTTP/1.1 204 No Content\r\n\r\n", { status: 204, type: null, body: "" }],
    ["nothing", "", { code: "ECONNRESET" }],
    ["a body cut short", "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{", { code: "ECONNRESET" }],
    ["another protocol", "SSH-2.0-OpenSSH_9.6\r\n", { code: "Malformed_HTTP_Response" }],
  ])("%s", async (_, bytes, expected) => {
    using dir = tempDir();
    const socketPath = join(dir.path, "s.sock");
    using _server = await childServer(socketPath, bytes);
    expect(await now(socketPath)).toEqual(expected);
  });

  test("no answer within the time-out: ETIMEDOUT", async () => {
    using dir = tempDir();
    const socketPath = join(dir.path, "s.sock");
    using _server = await childServer(socketPath, JSON_ANSWER, 5000);
    const started = performance.now();
    expect(await now(socketPath, 200)).toEqual({ code: "ETIMEDOUT" });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  test.each([
    ["no socket file", (dir: string) => join(dir, "missing.sock"), "ENOENT"],
    ["a regular file", (dir: string) => join(dir, "file"), "ECONNREFUSED"],
    ["a path under a regular file", (dir: string) => join(dir, "file", "x.sock"), "ENOTDIR"],
    ["a path too long for a socket", (dir: string) => join(dir, "x".repeat(120)), "ENAMETOOLONG"],
  ])("%s: %s", async (_, pathIn, code) => {
    using dir = tempDir();
    await Bun.write(join(dir.path, "file"), "x");
    expect(await now(pathIn(dir.path))).toEqual({ code });
  });
});
