// A server that answers garbage: every client command of the compiled binary against fake
// servers (Bun.serve on Unix sockets of a temp dir) that answer random bytes, truncated or
// wrong-typed JSON, wrong content types, HTTP errors with garbage bodies, NDJSON streams that
// stop short or carry wrong lines, and huge bodies. Properties: a well-formed refusal exits with
// its code and one `error:` line; anything else that is not the protocol exits 5 with one
// `error: unexpected answer from <path>: ...` line (or `went away` for a stream that ends
// early); never a stack trace; nothing on stdout unless the answer, or the start of a stream,
// was valid. UNITSYNC_FUZZ_SEED pins the seed.
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { exitCodeFor } from "../../src/cli/_exit.ts";
import type { ErrorCode } from "../../src/protocol/index.ts";
import { BINARY, tempDir, type Result } from "../helpers.ts";
import { AWKWARD_CHARACTERS, fuzzSeed, Random, rerunHint } from "../server/_fuzz.ts";
import { Child } from "./_bash.ts";

const CASES = 300;
const CONCURRENCY = 8;
/** A client that runs longer than this hangs: no fake answer here keeps anyone waiting. */
const HANG_MS = 15_000;
const STACK_TRACE = /^\s+at |\bTypeError\b|\bReferenceError\b|\bRangeError\b|\bSyntaxError\b|Bun v\d|panic|please report/m;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What a fake server answers: a status, a content type (none when undefined), and a body or the lines of a stream. */
interface Answer {
  status: number;
  type: string | undefined;
  body: string | Uint8Array | { lines: string[] };
}

const TIME = "2025-01-31T12:00:00.123Z";
const JSON_TYPE = "application/json";
const NDJSON = "application/x-ndjson";

interface Route {
  /** A valid answer: the JSON of a plain answer, or the lines of a stream. */
  valid: Json | { lines: Json[] };
  /** Wrong JSON that is no valid answer here (fixed examples; random ones are mutations of `valid`). */
  wrong: Json[];
}

const OBJECT_WRONG: Json[] = [[1, 2], null, 0, "x", true, {}, { units: "x" }];
const ARRAY_WRONG: Json[] = [{ units: "x" }, null, {}, [1, 2], "x", [null], 3];

type RouteName = "ping" | "units" | "status" | "want" | "complete" | "fail" | "events" | "follow" | "graph" | "timeline" | "start";

const ROUTES: Record<RouteName, Route> = {
  ping: { valid: { version: "0.1.0", pid: 42, started_at: TIME, uptime_ms: 1234.5, units: 2 }, wrong: OBJECT_WRONG },
  units: {
    valid: [
      { unit_name: "a", status: "started", is_ready: true, registered_at: TIME, start_requested_at: TIME, started_at: TIME },
      { unit_name: "b é", status: "failed", is_ready: true, reason: "exit code 1", registered_at: TIME, failed_at: TIME },
    ],
    wrong: ARRAY_WRONG,
  },
  status: {
    valid: {
      unit_name: "a",
      status: "pending",
      is_ready: false,
      registered_at: TIME,
      dependencies: [
        { depends_on: "b", required_status: "completed", current_status: "not registered", is_satisfied: false, requires: "success", declared_at: TIME },
        { depends_on: "c", required_status: "completed|failed", current_status: "failed", is_satisfied: true, requires: "completion", declared_at: TIME },
      ],
    },
    wrong: OBJECT_WRONG,
  },
  want: { valid: { unit_name: "a", dependencies: ["b"] }, wrong: OBJECT_WRONG },
  complete: { valid: { unit_name: "a", status: "completed" }, wrong: OBJECT_WRONG },
  fail: { valid: { unit_name: "a", status: "failed", reason: "r" }, wrong: OBJECT_WRONG },
  events: {
    valid: [
      { seq: 1, time: TIME, unit: "a", type: "registered" },
      { seq: 2, time: TIME, unit: "a", type: "dependencies_added", dependencies: ["b"], requires: "success" },
      { seq: 3, time: TIME, unit: "a", type: "start_requested", unsatisfied: ["b"] },
      { seq: 4, time: TIME, unit: "b", type: "status_changed", from: "pending", to: "failed", reason: "x", propagated: false },
    ],
    wrong: ARRAY_WRONG,
  },
  follow: {
    valid: {
      lines: [
        { seq: 1, time: TIME, unit: "a", type: "registered" },
        { seq: 2, time: TIME, unit: "a", type: "status_changed", from: "pending", to: "started" },
      ],
    },
    wrong: OBJECT_WRONG,
  },
  graph: {
    valid: {
      units: [
        { unit_name: "a", status: "pending" },
        { unit_name: "b", status: "not registered" },
        { unit_name: "c", status: "failed", reason: "exit code 2" },
      ],
      edges: [{ unit_name: "a", depends_on: "b", requires: "success", is_satisfied: false }],
    },
    wrong: OBJECT_WRONG,
  },
  timeline: {
    valid: (() => {
      const a = { unit_name: "a", status: "completed", registered_ms: 0, start_requested_ms: 1, started_ms: 2, ended_ms: 50, wait_ms: 1, run_ms: 48, in_progress: false };
      const b = { unit_name: "b", status: "started", registered_ms: 3, started_ms: 60, run_ms: 40, in_progress: true };
      return { origin: TIME, now_ms: 100, end_ms: 100, units: [a, b], critical_path: [a, b] };
    })(),
    wrong: OBJECT_WRONG,
  },
  start: {
    valid: {
      lines: [
        { type: "waiting", unsatisfied: ["b"], details: [{ depends_on: "b", requires: "success", current_status: "not registered", did_you_mean: "bb" }] },
        { type: "started", dependencies: ["b"], waited_for: ["b"] },
      ],
    },
    wrong: OBJECT_WRONG,
  },
};

interface Command {
  args: string[];
  route: RouteName;
  /** A command that makes more than one request gets only answers that end it at the first. */
  firstOnly?: boolean;
  /** Refusals after which the command asks again: the fake's same answer would not fit the next question. */
  asksAgainAfter?: ErrorCode[];
}

const COMMANDS: Command[] = [
  { args: ["ping"], route: "ping" },
  { args: ["list"], route: "units" },
  { args: ["list", "-o", "json"], route: "units" },
  { args: ["status", "a"], route: "status" },
  { args: ["status", "a", "-o", "json"], route: "status" },
  { args: ["want", "a", "b"], route: "want" },
  { args: ["complete", "a"], route: "complete" },
  { args: ["complete", "a", "--exit-code", "3"], route: "fail" },
  { args: ["fail", "a", "--reason", "r"], route: "fail" },
  { args: ["events"], route: "events" },
  { args: ["events", "-o", "json"], route: "events" },
  { args: ["events", "--follow"], route: "follow" },
  { args: ["graph"], route: "graph" },
  { args: ["graph", "-o", "mermaid"], route: "graph" },
  { args: ["graph", "-o", "json"], route: "graph" },
  { args: ["timeline"], route: "timeline" },
  { args: ["timeline", "-o", "json"], route: "timeline" },
  { args: ["timeline", "-o", "svg"], route: "timeline" },
  { args: ["start", "a"], route: "start" },
  { args: ["run", "a", "--", "true"], route: "start", firstOnly: true, asksAgainAfter: ["timeout"] },
  { args: ["complete", "a", "--when", "file:/"], route: "status", firstOnly: true },
];

/** The codes a server sends; the client's own (usage, server_unreachable, unexpected_answer) are garbage on the wire. */
const WIRE_CODES: ErrorCode[] = [
  "invalid_name", "not_registered", "cycle", "wrong_state", "conflict", "dependency_failed", "limit_exceeded", "bad_request",
  "not_found", "method_not_allowed", "payload_too_large", "timeout", "server_closing", "too_slow", "internal",
];

/** What a run must show. */
interface Expectation {
  kind: "valid" | "refusal" | "garbage";
  exitCode: number;
  /** The whole of stderr. */
  stderr: RegExp;
  /** False when the answer began validly (a stream's first lines), so output may have started. */
  quiet: boolean;
}

interface Case {
  command: Command;
  answer: Answer;
  expect: Expectation;
  /** What the answer was, for failure reports. */
  what: string;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function oneLine(r: Random, max: number): string {
  return r.string(r.int(1, max), AWKWARD_CHARACTERS).trim() || "x";
}

/** The same value with another JSON type in its place, at a random spot: never valid, since no field is any-typed. */
function mutate(r: Random, value: Json): Json {
  const children = Array.isArray(value) ? value.map((_, i) => i) : value !== null && typeof value === "object" ? Object.keys(value) : [];
  if (children.length > 0 && r.chance(0.75)) {
    const key = r.pick(children as Array<string | number>);
    const copy: any = Array.isArray(value) ? [...value] : { ...(value as object) };
    copy[key] = mutate(r, copy[key]);
    return copy;
  }
  if (typeof value === "string") return r.pick<Json>([5, null, [value], { value }, false, `${value}\n`, `${value}\u0085`]);
  if (typeof value === "number") return r.pick<Json>([String(value), null, true, [value]]);
  if (typeof value === "boolean") return r.pick<Json>([String(value), 1, null]);
  if (Array.isArray(value)) return r.pick<Json>([{ 0: "x" }, "x", 0, null]);
  return r.pick<Json>([[value], "x", 0, null]);
}

/** Fields a newer server might add, anywhere in an object: still valid. */
function withExtras(r: Random, value: Json): Json {
  if (Array.isArray(value)) return value.map((item) => withExtras(r, item));
  if (value === null || typeof value !== "object") return value;
  const copy: { [key: string]: Json } = {};
  for (const [key, inner] of Object.entries(value)) copy[key] = withExtras(r, inner);
  if (r.chance(0.3)) copy[`added_${r.int(0, 9)}`] = r.pick<Json>([null, 1, "x", [1], { a: [] }]);
  return copy;
}

function randomBytes(r: Random, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = r.below(256);
  return bytes;
}

const json = (value: Json) => JSON.stringify(value);

function makeCase(r: Random, socketPath: string): Case {
  const command = r.pick(COMMANDS);
  const route: Route = ROUTES[command.route];
  const stream = typeof route.valid === "object" && route.valid !== null && "lines" in route.valid;
  const type = stream ? NDJSON : JSON_TYPE;
  const validLines = stream ? (route.valid as { lines: Json[] }).lines : [];
  const garbage = (what: string, answer: Answer, quiet = true): Case => ({
    command,
    answer,
    what,
    expect: {
      kind: "garbage",
      exitCode: 5,
      stderr: new RegExp(`^error: (unexpected answer from ${escape(socketPath)}: [^\\n]{1,300}|the unitsync server on ${escape(socketPath)} went away)\\n$`),
      quiet,
    },
  });
  const ok = (what: string, body: Answer["body"]): Case => {
    // A follower's stream that ends is a server gone away, however good its lines were.
    const gone = command.route === "follow";
    return {
      command,
      answer: { status: 200, type, body },
      what,
      expect: {
        kind: "valid",
        exitCode: gone ? 5 : 0,
        stderr: gone ? new RegExp(`^error: the unitsync server on ${escape(socketPath)} went away\\n$`) : /^$/,
        quiet: false,
      },
    };
  };
  const refusal = (what: string, answer: Answer, code: ErrorCode, message: string): Case => ({
    command,
    answer,
    what,
    expect: { kind: "refusal", exitCode: exitCodeFor(code), stderr: new RegExp(`^error: [^\\n]*${escape(message)}\\n$`), quiet: true },
  });

  const kind = r.weighted<string>([
    [command.firstOnly ? 0 : 12, "valid"],
    [14, "refusal"],
    [10, "random bytes"],
    [12, "truncated"],
    [20, "wrong JSON"],
    [8, "content type"],
    [12, "error status"],
    [stream ? 14 : 0, "stream"],
    [3, "huge"],
  ]);
  switch (kind) {
    case "valid": {
      const value = withExtras(r, (stream ? validLines : route.valid) as Json) as Json;
      return ok("a valid answer", stream ? { lines: (value as Json[]).map(json) } : json(value));
    }
    case "refusal": {
      const code = r.pick(WIRE_CODES.filter((code) => !command.asksAgainAfter?.includes(code)));
      const message = oneLine(r, 60);
      const body = json({ error: { code, message } });
      const status = r.pick([400, 404, 405, 409, 413, 429, 500, 503, 507]);
      if (stream && r.chance(0.4)) {
        return refusal(`an error line (${code})`, { status: 200, type, body: { lines: [json({ type: "error", error: { code, message } })] } }, code, message);
      }
      return refusal(`HTTP ${status} ${code}`, { status, type: r.pick([JSON_TYPE, "application/json; charset=utf-8"]), body }, code, message);
    }
    case "random bytes":
      return garbage("random bytes", { status: 200, type, body: randomBytes(r, r.int(1, 300)) });
    case "truncated": {
      if (stream) {
        const lines = validLines.map(json);
        const keep = r.int(0, lines.length - 1);
        const cut = lines[keep]!.slice(0, r.int(1, lines[keep]!.length - 1));
        return garbage(`a stream cut in line ${keep + 1}`, { status: 200, type, body: { lines: [...lines.slice(0, keep), cut] } }, keep === 0);
      }
      const text = json(route.valid as Json);
      return garbage("truncated JSON", { status: 200, type, body: text.slice(0, r.int(0, text.length - 1)) });
    }
    case "wrong JSON": {
      const value = r.chance(0.3) ? r.pick(route.wrong) : mutate(r, (stream ? r.pick(validLines) : route.valid) as Json);
      if (!stream) return garbage(`wrong JSON ${json(value).slice(0, 80)}`, { status: 200, type, body: json(value) });
      const at = r.int(0, validLines.length - 1);
      const lines = validLines.map(json);
      lines[at] = json(value);
      // A start ends at its started line: what comes after it is never read.
      if (command.route === "start" && at > 0 && validLines.length === 2) lines.splice(at, 1, json(value), lines[at]!);
      return garbage(`line ${at + 1} wrong: ${json(value).slice(0, 80)}`, { status: 200, type, body: { lines: lines.slice(0, at + 1) } }, at === 0);
    }
    case "content type": {
      const wrongType = r.pick([undefined, "text/html", "text/plain", stream ? JSON_TYPE : NDJSON, "application/jsonx", "json"]);
      const body = stream ? validLines.map(json).join("\n") + "\n" : json(route.valid as Json);
      return garbage(`content type ${wrongType}`, { status: 200, type: wrongType, body });
    }
    case "error status": {
      const status = r.pick([204, 301, 302, 400, 404, 409, 413, 418, 500, 502, 503]);
      const bodies: Array<[string, string | Uint8Array, string | undefined]> = [
        ["random bytes", randomBytes(r, r.int(1, 200)), JSON_TYPE],
        ["truncated", json({ error: { code: "cycle", message: "abc" } }).slice(0, r.int(1, 30)), JSON_TYPE],
        ["not an error", r.pick([`{"error":"x"}`, `{}`, `[]`, `null`, `{"error":{"code":"cycle"}}`, `{"error":{"code":"cycle","message":5}}`]), JSON_TYPE],
        ["an unknown code", json({ error: { code: r.pick(["nope", "usage", "unexpected_answer", "__proto__"]), message: "m" } }), JSON_TYPE],
        ["a message on two lines", json({ error: { code: "cycle", message: "a\nat b (c.ts:1:2)" } }), JSON_TYPE],
        ["a good error as HTML", json({ error: { code: "cycle", message: "m" } }), "text/html"],
        ["HTML", "<html><body>502 Bad Gateway</body></html>", "text/html"],
      ];
      const [what, body, bodyType] = r.pick(bodies);
      // A 204 has no body, and a 413 without one is Bun's own answer to a large request.
      if (status === 204) return garbage("HTTP 204", { status, type, body: "" });
      return garbage(`HTTP ${status} with ${what}`, { status, type: bodyType, body });
    }
    case "stream": {
      const lines = validLines.map(json);
      const first = command.route === "start" ? lines.slice(0, 1) : lines;
      const variant = r.pick(["empty", "ends early", "blank lines then garbage", "a bad line after good ones"]);
      if (variant === "empty") return garbage("an empty stream", { status: 200, type, body: { lines: [] } });
      if (variant === "ends early") return garbage("a stream that ends early", { status: 200, type, body: { lines: first } }, false);
      if (variant === "blank lines then garbage") return garbage("blank lines, then garbage", { status: 200, type, body: { lines: ["", " ", "garbage"] } });
      return garbage("a bad line after good ones", { status: 200, type, body: { lines: [...first, r.pick(["{", "[]", "null", `{"type":"nope"}`, "x".repeat(50)])] } }, false);
    }
    default: {
      const size = r.int(1, 3) * 1024 * 1024;
      if (command.route === "units" || command.route === "events") {
        const item = json((route.valid as Json[])[0]!);
        const items = Array.from({ length: Math.ceil(size / item.length) }, () => item);
        return garbage(`a huge array with a bad last element`, { status: 200, type, body: `[${items.join(",")},{"unit_name":5}]` });
      }
      if (stream) {
        return garbage("a huge line of garbage", { status: 200, type, body: { lines: [`{"type":"${"x".repeat(size)}"}`] } });
      }
      return garbage("a huge garbage body", { status: 200, type, body: `{"version":"${"x".repeat(size)}` });
    }
  }
}

function respond(answer: Answer): Response {
  const headers: Record<string, string> = answer.type === undefined ? {} : { "content-type": answer.type };
  const { body } = answer;
  if (typeof body === "object" && !(body instanceof Uint8Array)) {
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        // The last line goes without its newline: a stream cut short ends that way too.
        body.lines.forEach((line, i) => controller.enqueue(encoder.encode(i < body.lines.length - 1 ? `${line}\n` : line)));
        controller.close();
      },
    });
    return new Response(stream, { status: answer.status, headers });
  }
  // Bytes, so that Bun adds no content type of its own when the answer has none.
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return new Response(answer.status === 204 ? null : bytes, { status: answer.status, headers });
}

/** Runs the binary; one that hangs is killed and reported as hanging. */
async function runWithin(args: string[]): Promise<Result & { hung: boolean }> {
  await using child = new Child([BINARY, ...args]);
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    child.kill("SIGKILL");
  }, HANG_MS);
  const result = await child.result;
  clearTimeout(timer);
  return { ...result, hung };
}

function check(c: Case, result: Result & { hung: boolean }): string[] {
  if (result.hung) return [`still running after ${HANG_MS} ms`];
  const problems: string[] = [];
  if (result.exitCode !== c.expect.exitCode) problems.push(`exit code ${result.exitCode}, expected ${c.expect.exitCode}`);
  // run's own lines go to stderr: its waiting line comes first when the stream began well.
  const waited = c.command.args[0] === "run" && !c.expect.quiet;
  const stderr = waited ? result.stderr.replace(/^Unit "a" is waiting for dependencies to be satisfied: \[b\]\n/, "") : result.stderr;
  if (!c.expect.stderr.test(stderr)) problems.push(`stderr does not match ${c.expect.stderr}`);
  if (STACK_TRACE.test(result.stderr) || STACK_TRACE.test(result.stdout)) problems.push("a stack trace");
  if (c.expect.quiet && result.stdout !== "") problems.push("output on stdout for an answer that was not valid");
  if (c.expect.kind === "valid" && result.stdout === "") problems.push("no output for a valid answer");
  return problems;
}

describe("a server that answers garbage", () => {
  const dir = tempDir();
  afterAll(() => dir[Symbol.dispose]());

  test(`${CASES} answers to every client command: a documented exit code and one error line, never a trace`, async () => {
    const seed = fuzzSeed();
    const r = new Random(seed);
    const slots = Array.from({ length: CONCURRENCY }, (_, i) => {
      const socketPath = join(dir.path, `fake-${i}.sock`);
      const slot = { socketPath, answer: undefined as Answer | undefined, server: undefined as ReturnType<typeof Bun.serve> | undefined };
      slot.server = Bun.serve({ unix: socketPath, fetch: () => respond(slot.answer!) });
      return slot;
    });
    const cases = Array.from({ length: CASES }, (_, i) => makeCase(r, slots[i % CONCURRENCY]!.socketPath));
    const failures: string[] = [];
    const kinds = new Map<string, number>();
    try {
      await Promise.all(
        slots.map(async (slot, i) => {
          for (let n = i; n < cases.length; n += CONCURRENCY) {
            const c = cases[n]!;
            kinds.set(c.expect.kind, (kinds.get(c.expect.kind) ?? 0) + 1);
            slot.answer = c.answer;
            const result = await runWithin(["--socket-path", slot.socketPath, ...c.command.args]);
            const problems = check(c, result);
            if (problems.length > 0) {
              failures.push(
                `unitsync ${c.command.args.join(" ")} against ${c.what}: ${problems.join("; ")}\n` +
                  `  exit ${result.exitCode}\n  stdout ${JSON.stringify(result.stdout.slice(0, 300))}\n  stderr ${JSON.stringify(result.stderr.slice(0, 600))}`,
              );
            }
          }
        }),
      );
    } finally {
      for (const slot of slots) slot.server?.stop(true);
    }
    if (failures.length > 0) console.error(rerunHint(seed, "test/e2e/server-garbage.test.ts"));
    expect({ failures: failures.slice(0, 10), everyKind: [...kinds.keys()].sort() }).toEqual({
      failures: [],
      everyKind: ["garbage", "refusal", "valid"],
    });
  }, 120_000);
});

describe("bytes that are not a whole HTTP answer", () => {
  const notHttp = (socketPath: string) => `error: unexpected answer from ${socketPath}: the answer is not HTTP\n`;
  const wentAway = (socketPath: string) => `error: the unitsync server on ${socketPath} went away\n`;
  test.each([
    ["another protocol's greeting", "SSH-2.0-OpenSSH_9.6\r\n", ["ping"], notHttp],
    ["every byte", new Uint8Array(256).map((_, i) => i), ["ping"], notHttp],
    ["a broken status line", "HTTP/1.1 abc OK\r\n\r\n", ["list"], notHttp],
    ["a broken chunk", "HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n", ["start", "a"], notHttp],
    ["nothing: the connection closes", "", ["ping"], wentAway],
    ["headers cut short", "HTTP/1.1 200 OK\r\ncontent-ty", ["ping"], wentAway],
    ["a body cut short", "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"vers", ["ping"], wentAway],
    [
      "a stream cut in a line",
      'HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{"typ\r\n',
      ["start", "a"],
      wentAway,
    ],
  ] as const)("%s: exit 5, one line", async (_, bytes, args, stderr) => {
    using dir = tempDir();
    const socketPath = join(dir.path, "raw.sock");
    using _listener = Bun.listen({
      unix: socketPath,
      socket: {
        data(socket) {
          socket.end(bytes);
        },
      },
    });
    const result = await new Child([BINARY, ...args, "--socket-path", socketPath]).result;
    expect(result).toEqual({ stdout: "", stderr: stderr(socketPath), exitCode: 5 });
  });
});
