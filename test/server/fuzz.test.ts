// Fuzzes the HTTP API of an in-process server with random, odd and broken requests, sent as
// raw bytes over the Unix socket. Properties: the server never crashes, never hangs and never
// leaks a waiter or an event follower; every answer is well-formed HTTP; every JSON error is
// exactly {"error":{"code","message"}}; nothing ever answers 5xx; and the graph stays
// consistent and usable afterwards. The seed is random unless UNITSYNC_FUZZ_SEED pins it.
import { describe, expect, test } from "bun:test";
import { testServer, TRACEPARENT, waitUntil } from "../helpers.ts";
import { holdStart, httpRequest, parseAnswers, RawConnection, rawExchange, show, type HttpAnswer } from "../raw-http.ts";
import { validateUnitName } from "../../src/graph/index.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { AWKWARD_CHARACTERS, fuzzSeed, Random, rerunHint } from "./_fuzz.ts";

/** 100 batches of 30 requests: 70 on a server with the default limits, 30 on one with small limits. */
const DEFAULT_LIMITS_BATCHES = 70;
const SMALL_LIMITS_BATCHES = 30;
const CASES_PER_BATCH = 30;
/** How long a well-formed request may take to be answered (or to stream its first line). */
const ANSWER_MS = 5_000;
/** How long a malformed request may go unanswered before the client gives up on it; not a failure. */
const MALFORMED_MS = 300;
const HEALTH_MS = 2_000;
const BODY_LIMIT = 64 * 1024;

const ERROR_STATUS: Record<string, number> = {
  invalid_name: 400,
  bad_request: 400,
  not_registered: 404,
  not_found: 404,
  method_not_allowed: 405,
  cycle: 409,
  wrong_state: 409,
  conflict: 409,
  dependency_failed: 409,
  payload_too_large: 413,
  limit_exceeded: 507,
};
const STREAM_ERROR_CODES = new Set(["timeout", "dependency_failed", "wrong_state", "server_closing", "too_slow", "limit_exceeded"]);
const STATUSES = new Set(["pending", "started", "completed", "failed"]);

// ---------------------------------------------------------------- reading answers

/** The complete lines of an NDJSON body; a last line still arriving is left out. */
function ndjsonLines(body: Buffer): string[] {
  return body.toString().split("\n").slice(0, -1);
}

const isNdjson = (answer: HttpAnswer) => answer.headers["content-type"]?.startsWith("application/x-ndjson") === true;
const isJson = (answer: HttpAnswer) => answer.headers["content-type"]?.startsWith("application/json") === true;

// ---------------------------------------------------------------- generating requests

/** What one request expects of its answer. */
interface Expectation {
  method: string;
  /** The server must answer (a silent close is a failure): the request is HTTP the server understands. */
  answerRequired: boolean;
  /** Any error answer must be the JSON error body: the request is fully well-formed. */
  jsonRequired: boolean;
  /** The decoded unit name the path names, when it is encoded properly. */
  unit?: string;
  /** The body is larger than the documented limit. */
  bigBody?: boolean;
  /** A big body on a route that reads its body: 413 is the only right answer. */
  oversized?: boolean;
  /** A proper unit name on its route with the route's method: "no such route" would be wrong. */
  routed?: boolean;
  /** An odd HTTP version or a broken request line, which may be refused with 505. */
  badRequestLine?: boolean;
  /** A followed event log with nothing to send yet: the server may say nothing until an event comes. */
  quietAllowed?: boolean;
}

interface Plan {
  kind: string;
  bytes: Uint8Array;
  expectations: Expectation[];
  /** Write in these pieces, each on its own turn of the event loop. */
  pieces?: number[];
  /** Write only this many bytes, then close: a client that died mid-request. */
  abortAfter?: number;
}

const STANDARD_METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"];
const ODD_METHODS = ["TRACE", "CONNECT", "PURGE", "PROPFIND", "MKCOL", "QUERY", "SEARCH", "M-SEARCH", "get", "post", "Get"];
const TOKEN_CHARACTERS = [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~"];
const ACTIONS = ["dependencies", "start", "complete", "fail"] as const;
const POOL = ["a", "b", "c", "d", "e", "f", "__proto__", "constructor", "toString", "hasOwnProperty"];
const FIELDS = ["depends_on", "requires", "timeout_ms", "progress_ms", "pid", "script", "reason", "__proto__", "constructor"];
const GOOD_HOSTS = ["unitsync", "localhost", "unitsync:80", "127.0.0.1", "unitsync.local"];
const ODD_HOSTS = ["", "a b", "[", "]", "é", "x".repeat(300), "a/b", "a?b", "a#b", "user@host", ":80", "%41", "unitsync:99999", "[::1", "\u0001"];

interface UnitName {
  /** As it goes in the request line. */
  segment: string;
  /** What it decodes to, when the encoding is proper. */
  decoded?: string;
  /** False when the segment breaks the request line itself (a raw space). */
  lineSafe: boolean;
}

function unitName(r: Random): UnitName {
  const encoded = (name: string): UnitName => ({ segment: encodeURIComponent(name), decoded: name, lineSafe: true });
  return r.weighted<() => UnitName>([
    [50, () => encoded(r.pick(POOL))],
    [12, () => encoded(r.string(r.int(1, 12), AWKWARD_CHARACTERS))],
    [4, () => encoded("x".repeat(r.pick([254, 255, 256, 300, 1_000, 5_000])))],
    [3, () => encoded("é".repeat(r.pick([127, 128])))],
    [3, () => encoded(r.pick(["..", ".", "...", " ", "-", "--", "-x"]))],
    [
      8,
      () => {
        const segment = r.pick(["%2F", "%00", "%0A", "%0D%0A", "%7F", "%C2%85", "%ZZ", "%", "a%", "%C3%28", "%E0%A4%A", "%C0%AF", "%ED%A0%80", "%F4%90%80%80", "%25", "%2e%2e", "a%20b"]);
        let decoded: string | undefined;
        try {
          decoded = decodeURIComponent(segment);
        } catch {}
        return { segment, decoded, lineSafe: true };
      },
    ],
    [3, () => ({ segment: r.pick(["é", "日本", "😀", "a;b", "a,b", "a=b", "a+b"]), lineSafe: true })],
    [2, () => ({ segment: r.pick(["a b", "a\tb"]), lineSafe: false })],
  ])();
}

interface Route {
  path: string;
  unit?: string;
  action?: (typeof ACTIONS)[number];
  lineSafe: boolean;
  /** A request target Bun itself refuses with a bare 400 (`*`). */
  bare?: boolean;
  follows?: boolean;
}

function route(r: Random): Route {
  return r.weighted<() => Route>([
    [8, () => ({ path: "/v1/ping", lineSafe: true })],
    [6, () => ({ path: "/v1/units", lineSafe: true })],
    [4, () => ({ path: "/v1/graph", lineSafe: true })],
    [4, () => ({ path: "/v1/timeline", lineSafe: true })],
    [
      6,
      () => {
        const query = eventsQuery(r);
        const follow = new URLSearchParams(query).get("follow");
        return { path: `/v1/events${query}`, lineSafe: true, follows: follow !== null && follow !== "0" && follow !== "false" };
      },
    ],
    [
      50,
      () => {
        const name = unitName(r);
        const action = r.chance(0.85) ? r.pick(ACTIONS) : undefined;
        const query = r.chance(0.05) ? r.pick(["?x=1", "?", "?follow=1", "#frag", "?a=%ZZ"]) : "";
        return {
          path: `/v1/units/${name.segment}${action ? `/${action}` : ""}${query}`,
          unit: query === "" ? name.decoded : undefined,
          action,
          lineSafe: name.lineSafe,
        };
      },
    ],
    [
      12,
      () => ({
        path: r.pick([
          "/", "/v1", "/v1/", "/v2/ping", "/v1//units", "/v1/units/", "/v1/units//start", "/v1/units/a/start/extra",
          "/v1/units/a/b", "/v1/./ping", "/v1/../v1/ping", "/v1/units/../ping", "//v1/ping", "/V1/PING", "/v1/ping/",
          "/%76%31/ping", "/v1/ping?", "/v1/ping#x", "/v1/units/a/%2e%2e/start", "http://unitsync/v1/ping",
          "http://other/v1/units", "/v1/units?follow=1", `/${"v".repeat(20_000)}`, "/v1/\u00e9", "/v1/ping;x=y",
        ]),
        lineSafe: true,
      }),
    ],
    [1, () => ({ path: "*", lineSafe: true, bare: true })],
  ])();
}

function eventsQuery(r: Random): string {
  const after = r.pick(["", "0", "1", "5", "-1", "1.5", "abc", "1e3", "1e400", "9007199254740993", "%31", "0x10", "%201"]);
  const follow = r.pick(["", "1", "0", "false", "true", "yes"]);
  const parts = [after === "" ? "" : `after=${after}`, follow === "" ? "" : `follow=${follow}`].filter((p) => p !== "");
  return parts.length === 0 ? "" : `?${r.chance(0.5) ? parts.join("&") : parts.reverse().join("&")}`;
}

function randomJson(r: Random, depth: number): unknown {
  const leaf = (): unknown =>
    r.pick<() => unknown>([
      () => null,
      () => r.chance(0.5),
      () => r.pick([0, -0, 1, -1, 1.5, 2 ** 31, 2 ** 53 + 1, -(2 ** 31), 1e308, 5, 20]),
      () => r.string(r.int(0, 8), AWKWARD_CHARACTERS),
      () => r.pick(POOL),
      () => r.pick(["success", "completion", "started", "SUCCESS", ""]),
    ])();
  if (depth <= 0 || r.chance(0.4)) return leaf();
  if (r.chance(0.5)) return Array.from({ length: r.int(0, 4) }, () => randomJson(r, depth - 1));
  const object: Record<string, unknown> = {};
  for (let i = r.int(0, 4); i > 0; i--) {
    object[r.chance(0.7) ? r.pick(FIELDS) : r.string(r.int(0, 6), AWKWARD_CHARACTERS)] = randomJson(r, depth - 1);
  }
  return object;
}

/** A good body for the route most of the time, so the graph moves; otherwise wrong in one of many ways. */
function body(r: Random, target: Route): { bytes?: Uint8Array } {
  const text = (value: string) => ({ bytes: new TextEncoder().encode(value) });
  const json = (value: unknown) => text(JSON.stringify(value));
  const valid = (): { bytes?: Uint8Array } => {
    switch (target.action) {
      case "dependencies": {
        const dependsOn = Array.from({ length: r.int(1, 3) }, () => r.pick(POOL));
        return json(r.chance(0.7) ? { depends_on: dependsOn } : { depends_on: dependsOn, requires: r.pick(["success", "completion", "started"]) });
      }
      case "start":
        return json({ timeout_ms: r.pick([0, 1, 5, 30, 300_000]), progress_ms: r.pick([0, 1, 1_000]), ...(r.chance(0.3) ? { pid: r.int(1, 99_999), script: r.pick(["a.sh", "b c.sh", "é"]) } : {}) });
      case "fail":
        return json({ reason: r.string(r.int(0, 20), [...AWKWARD_CHARACTERS, "\n", "\t", "\u0000"]) });
      default:
        return {};
    }
  };
  return r.weighted<() => { bytes?: Uint8Array }>([
    [45, valid],
    [14, () => json(randomJson(r, 4))],
    [5, () => ({})],
    [3, () => text(r.pick(["", " ", "\n", "\r\n"]))],
    [5, () => text(r.pick(["{", "}", "[", "nul", "{\"a\":}", "{'a':1}", "{\"depends_on\":[\"a\",]}", "\"str\"", "123", "true", "null", "[]", "{}{}", "{\"a\":1} x", "NaN", "{\"timeout_ms\":1e999}", "{\"timeout_ms\":-0}", "{\"a\":\"\\ud800\"}", "{\"depends_on\":[\"\\u0000\"]}"]))],
    [
      4,
      () => {
        const n = r.pick([100, 1_000, 10_000, 30_000]);
        const [open, close] = r.pick([["[", "]"], ["{\"depends_on\":", "}"], ["{\"a\":[", "]}"]]);
        return text(`${open!.repeat(n)}${r.chance(0.5) ? "1" : ""}${close!.repeat(n)}`);
      },
    ],
    [
      4,
      () => {
        const prefix = new TextEncoder().encode(r.pick(['{"reason":"', '{"depends_on":["', '{"script":"', '{"']));
        const bad = Uint8Array.from(r.pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82]]));
        const suffix = new TextEncoder().encode(r.pick(['"}', '"]}', '":1}']));
        return { bytes: Buffer.concat([prefix, bad, suffix]) };
      },
    ],
    [3, () => ({ bytes: Uint8Array.from({ length: r.int(1, 64) }, () => r.int(0, 255)) })],
    [
      3,
      () => {
        const size = BODY_LIMIT + r.pick([1, 100, 10_000, 200_000]);
        return text(JSON.stringify({ reason: "x".repeat(size) }));
      },
    ],
    [2, () => text(JSON.stringify({ reason: "y".repeat(BODY_LIMIT - 13) }))],
  ])();
}

function pickMethod(r: Random, target: Route): { method: string; standard: boolean } {
  const wanted = target.action ? "POST" : "GET";
  return r.weighted<() => { method: string; standard: boolean }>([
    [75, () => ({ method: wanted, standard: true })],
    [12, () => ({ method: r.pick(STANDARD_METHODS), standard: true })],
    [6, () => ({ method: r.pick(ODD_METHODS), standard: false })],
    [5, () => ({ method: r.string(r.int(1, 12), TOKEN_CHARACTERS), standard: false })],
    [2, () => ({ method: r.pick(["G@T", "GE T", "", "(GET)", "GET\u00e9", "X".repeat(5_000)]), standard: false })],
  ])();
}

interface Built {
  bytes: Uint8Array;
  expectation: Expectation;
  bodyStart: number;
}

/** One request: a route, a method, a body, and headers that are right or wrong in one way. */
function buildRequest(r: Random, options: { oddHeaders: boolean; finiteOnly?: boolean }): Built {
  let target = route(r);
  let { method, standard } = pickMethod(r, target);
  if (options.finiteOnly) {
    // Pipelined requests must end on their own: no event following, no start (see the pipelining test below).
    while (target.action === "start" || target.follows || target.bare || !target.lineSafe || target.path.length > 4_000) target = route(r);
    if (!standard) [method, standard] = ["GET", true];
  }
  let payload = method === "GET" || method === "HEAD" ? (r.chance(0.05) ? body(r, target) : {}) : body(r, target);
  const oversized = (payload.bytes?.length ?? 0) > BODY_LIMIT;
  if (options.finiteOnly && oversized) payload = {};
  const readsBody = method === "POST" && target.action !== undefined && target.action !== "complete";

  let answerRequired = standard && target.lineSafe && !target.follows;
  let jsonRequired = answerRequired && target.path.length < 4_000 && !target.bare;
  const headers: Array<[string, string]> = [];
  let host: string | undefined = r.pick(GOOD_HOSTS);
  let version = "HTTP/1.1";
  let bodyBytes = payload.bytes;
  let framing: "length" | "chunked" | "none" = bodyBytes === undefined ? "none" : "length";

  if (options.oddHeaders) {
    const odd = r.weighted<string>([
      [6, "missing host"], [8, "odd host"], [2, "two hosts"], [6, "version"], [5, "duplicate content-length"],
      [4, "bad content-length"], [5, "bogus transfer-encoding"], [6, "chunked"], [3, "chunked and length"],
      [6, "huge header"], [3, "many headers"], [4, "broken header line"], [3, "expect continue"], [3, "connection"],
      [3, "content-type"], [2, "nul in header"],
    ]);
    switch (odd) {
      case "missing host":
        host = undefined;
        jsonRequired = false;
        break;
      case "odd host":
        host = r.pick(ODD_HOSTS);
        jsonRequired = false;
        if (host.includes("\u0001")) answerRequired = false;
        break;
      case "two hosts":
        headers.push(["host", r.pick(GOOD_HOSTS)]);
        jsonRequired = false;
        break;
      case "version":
        version = r.pick(["HTTP/1.0", "HTTP/1.2", "HTTP/2.0", "HTTP/0.9", "http/1.1", "HTTP/1.1 ", "HTTP/11", "HTTX/1.1", ""]);
        answerRequired &&= version === "HTTP/1.0" && host !== undefined;
        jsonRequired &&= answerRequired && framing === "none";
        break;
      case "duplicate content-length": {
        const length = bodyBytes?.length ?? 0;
        headers.push(["content-length", String(length)], ["content-length", String(r.chance(0.5) ? length : length + 1)]);
        framing = "none";
        jsonRequired = false;
        break;
      }
      case "bad content-length":
        headers.push(["content-length", r.pick(["-1", "abc", "+5", " 5 ", "0x10", "1e2", "99999999999999999999", "", "5, 5"])]);
        framing = "none";
        answerRequired = jsonRequired = false;
        break;
      case "bogus transfer-encoding":
        headers.push(["transfer-encoding", r.pick(["gzip", "bogus", "chunked, chunked", "identity", "chunked;x=1", "CHUNKED", "gzip, chunked"])]);
        answerRequired = jsonRequired = false;
        break;
      case "chunked":
        framing = bodyBytes === undefined ? "none" : "chunked";
        break;
      case "chunked and length":
        framing = "chunked";
        bodyBytes ??= new Uint8Array();
        headers.push(["content-length", String(bodyBytes.length)]);
        answerRequired = jsonRequired = false;
        break;
      case "huge header":
        headers.push([r.pick(["x-big", "user-agent", "cookie"]), "v".repeat(r.pick([1_000, 8_000, 20_000, 100_000, 1_000_000]))]);
        jsonRequired = false;
        break;
      case "many headers":
        for (let i = r.pick([50, 200, 1_000]); i > 0; i--) headers.push([`x-h${i}`, String(i)]);
        jsonRequired = false;
        break;
      case "broken header line":
        headers.push(r.pick<[string, string]>([["garbage-without-colon", "\u0000"], ["x y", "z"], ["", "empty name"], [" folded", "line"], ["x-é", "v"], ["x:y", "z"]]));
        answerRequired = jsonRequired = false;
        break;
      case "expect continue":
        headers.push(["expect", r.pick(["100-continue", "nonsense"])]);
        jsonRequired = false;
        break;
      case "connection":
        headers.push(["connection", r.pick(["close", "keep-alive", "upgrade", "bogus"])]);
        break;
      case "content-type":
        headers.push(["content-type", r.pick(["text/plain", "application/json; charset=latin1", "multipart/form-data; boundary=x", "", "é"])]);
        break;
      case "nul in header":
        headers.push(["x-nul", "a\u0000b"]);
        answerRequired = jsonRequired = false;
        break;
    }
  }

  const head: string[] = [`${method} ${target.path}${version === "" ? "" : ` ${version}`}`];
  if (host !== undefined) head.push(`host: ${host}`);
  if (framing === "length") head.push(`content-length: ${bodyBytes!.length}`, "content-type: application/json");
  if (framing === "chunked") head.push("transfer-encoding: chunked");
  for (const [name, value] of headers) head.push(name.startsWith(" ") ? name : `${name}: ${value}`);
  const headBytes = Buffer.from(`${head.join("\r\n")}\r\n\r\n`);
  let bodyPart: Uint8Array = bodyBytes ?? new Uint8Array();
  if (framing === "chunked") bodyPart = chunked(r, bodyPart);
  const routed = jsonRequired && target.unit !== undefined && isValidName(target.unit) && method === (target.action ? "POST" : "GET");
  return {
    bytes: Buffer.concat([headBytes, bodyPart]),
    bodyStart: headBytes.length,
    expectation: {
      method,
      answerRequired,
      jsonRequired,
      unit: target.unit,
      bigBody: oversized && framing !== "none",
      oversized: oversized && readsBody && routed && framing !== "none",
      routed,
      badRequestLine: version !== "HTTP/1.1" || !target.lineSafe || !standard,
      quietAllowed: target.follows,
    },
  };
}

function chunked(r: Random, bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const size = Math.min(bytes.length - offset, r.int(1, 4_096));
    parts.push(Buffer.from(`${size.toString(16)}\r\n`), bytes.subarray(offset, offset + size), Buffer.from("\r\n"));
    offset += size;
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

function plan(r: Random): Plan {
  const kind = r.weighted<string>([
    [55, "request"], [15, "odd headers"], [6, "split"], [6, "truncated head"], [6, "truncated body"], [8, "pipelined"], [4, "idle close"],
  ]);
  switch (kind) {
    case "request":
    case "odd headers": {
      const built = buildRequest(r, { oddHeaders: kind === "odd headers" });
      return { kind, bytes: built.bytes, expectations: [built.expectation] };
    }
    case "split": {
      const built = buildRequest(r, { oddHeaders: false });
      const cuts = Array.from({ length: r.int(1, 6) }, () => r.int(1, Math.max(1, built.bytes.length - 1))).sort((a, b) => a - b);
      return { kind, bytes: built.bytes, expectations: [built.expectation], pieces: cuts };
    }
    case "truncated head": {
      const built = buildRequest(r, { oddHeaders: r.chance(0.3) });
      return { kind, bytes: built.bytes, expectations: [], abortAfter: r.int(0, Math.max(0, built.bodyStart - 2)) };
    }
    case "truncated body": {
      // A declared length larger than what is sent, then the client dies.
      let built = buildRequest(r, { oddHeaders: false });
      for (let tries = 0; built.bytes.length - built.bodyStart < 2 && tries < 20; tries++) built = buildRequest(r, { oddHeaders: false });
      const bodyLength = built.bytes.length - built.bodyStart;
      return { kind, bytes: built.bytes, expectations: [], abortAfter: built.bodyStart + r.int(0, Math.max(0, bodyLength - 1)) };
    }
    case "pipelined": {
      const requests = Array.from({ length: r.int(2, 6) }, () => buildRequest(r, { oddHeaders: false, finiteOnly: true }));
      return { kind, bytes: Buffer.concat(requests.map((q) => q.bytes)), expectations: requests.map((q) => q.expectation) };
    }
    default: {
      // Connect, send nothing (or one byte), go away.
      return { kind, bytes: Buffer.from(r.pick(["", "G", "\r\n"])), expectations: [], abortAfter: 0 };
    }
  }
}

// ---------------------------------------------------------------- running and checking

interface Violation {
  kind: string;
  detail: string;
  request: string;
}


/**
 * How exchanges ended ("JSON error", "NDJSON stream", "aborted", ...) and which error codes came
 * back ("code cycle"), counted so a test can tell the fuzz really reached every kind of answer.
 */
type Outcomes = Map<string, number>;

async function exchange(socketPath: string, p: Plan, violations: Violation[], outcomes: Outcomes): Promise<void> {
  const count = (outcome: string) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  const wire = await RawConnection.open(socketPath);
  const report = (kind: string, detail: string) => void violations.push({ kind, detail, request: `(${p.kind}) ${show(p.bytes)}` });
  try {
    if (p.abortAfter !== undefined) {
      wire.write(p.bytes.subarray(0, p.abortAfter));
      await new Promise((resolve) => setImmediate(resolve));
      return void count("aborted");
    }
    let from = 0;
    for (const cut of [...(p.pieces ?? []), p.bytes.length]) {
      if (cut <= from) continue;
      wire.write(p.bytes.subarray(from, cut));
      from = cut;
      if (cut < p.bytes.length) await new Promise((resolve) => setImmediate(resolve));
    }
    const methods = p.expectations.map((e) => e.method);
    const answered = () => {
      const { answers, malformed } = parseAnswers(wire.bytes, methods, wire.isClosed);
      if (malformed) return true;
      if (answers.length >= p.expectations.length && answers.every((a) => a.complete)) return true;
      // A stream that stays open (a waiting start, a followed event log) counts once its head and first line are in.
      const last = answers[answers.length - 1];
      return last !== undefined && !last.complete && isNdjson(last) && answers.length === p.expectations.length;
    };
    const required = p.expectations.some((e) => e.answerRequired);
    const how = await wire.outcome(answered, required ? ANSWER_MS : MALFORMED_MS);
    const { answers, malformed } = parseAnswers(wire.bytes, methods, wire.isClosed);
    if (malformed) return report("malformed HTTP answer", malformed);
    for (const [i, expectation] of p.expectations.entries()) {
      const answer = answers[i];
      count(!answer ? (wire.isClosed ? "closed unanswered" : "unanswered") : isNdjson(answer) ? "NDJSON stream" : !isJson(answer) ? "bare HTTP error" : answer.status < 400 ? "JSON success" : "JSON error");
      if (!answer) {
        if (expectation.answerRequired) {
          const why = how === "timeout" ? `no answer within ${ANSWER_MS} ms` : "the server closed the connection without answering";
          report(how === "timeout" ? "hang" : "silent close", `${why} (request ${i + 1} of ${p.expectations.length})`);
        }
        return;
      }
      checkAnswer(answer, expectation, report);
      const code = isJson(answer) && answer.status >= 400 ? /^\{"error":\{"code":"([a-z_]+)"/.exec(answer.body.toString())?.[1] : undefined;
      if (code !== undefined) count(`code ${code}`);
      if (!answer.complete && !isNdjson(answer) && how === "timeout" && expectation.answerRequired) {
        report("hang", `answer ${answer.status} started but did not finish within ${ANSWER_MS} ms`);
      }
    }
  } finally {
    wire.close();
  }
}

function checkAnswer(answer: HttpAnswer, expectation: Expectation, report: (kind: string, detail: string) => void): void {
  const text = answer.body.toString();
  const what = `${answer.statusLine} ${JSON.stringify(text.slice(0, 300))}`;
  // A full server answers 507 limit_exceeded (checked with the JSON below); Bun may refuse a broken request line with 505.
  if (answer.status >= 500 && answer.status !== 507 && !(answer.status === 505 && expectation.badRequestLine)) report("5xx answer", what);
  if (expectation.oversized && expectation.jsonRequired && answer.status !== 413) {
    report("oversized body not refused with 413", what);
  }
  if (isNdjson(answer)) {
    if (answer.status !== 200) report("NDJSON error status", what);
    const lines = ndjsonLines(answer.body);
    for (const [i, line] of lines.entries()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        report("NDJSON line does not parse", `line ${i + 1}: ${JSON.stringify(line.slice(0, 200))}`);
        continue;
      }
      const entry = parsed as { type?: unknown; seq?: unknown; error?: unknown };
      if (entry.type === "error") {
        checkErrorShape({ error: entry.error }, "NDJSON error line", report, line);
        const code = (entry.error as { code?: unknown } | undefined)?.code;
        if (typeof code === "string" && !STREAM_ERROR_CODES.has(code) && !Object.hasOwn(ERROR_STATUS, code)) report("unknown error code", line);
        if (i !== lines.length - 1) report("NDJSON error line not last", line);
      } else if (typeof entry.seq !== "number" && !["waiting", "progress", "started"].includes(entry.type as string)) {
        report("NDJSON line of unknown shape", line);
      }
    }
    if (answer.complete && lines.length === 0) report("NDJSON answer with no lines", what);
    return;
  }
  if (answer.status === 507 && !isJson(answer)) report("5xx answer", what);
  if (answer.status >= 400 && !isJson(answer) && expectation.jsonRequired) {
    report(expectation.bigBody && answer.status === 413 ? "oversized body refused without the JSON error" : "error answer is not JSON", what);
  }
  if (!isJson(answer) || expectation.method === "HEAD" || !answer.complete) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return report("JSON answer does not parse", what);
  }
  if (answer.status >= 400) {
    checkErrorShape(parsed, "JSON error", report, text);
    const code = (parsed as { error?: { code?: unknown } }).error?.code;
    if (typeof code === "string") {
      if (!Object.hasOwn(ERROR_STATUS, code)) {
        if (code !== "internal") report("unknown error code", what);
      } else if (ERROR_STATUS[code] !== answer.status) {
        report(`status does not match code ${code}`, what);
      }
      if (expectation.routed && (code === "not_found" || code === "method_not_allowed")) {
        report("a proper unit name misses its route", `unit ${JSON.stringify(expectation.unit)}: ${what}`);
      }
    }
  } else if (expectation.unit !== undefined && isValidName(expectation.unit) && typeof parsed === "object" && parsed !== null && "unit_name" in parsed) {
    if ((parsed as { unit_name: unknown }).unit_name !== expectation.unit) {
      report("unit name changed on the way", `expected ${JSON.stringify(expectation.unit)}; ${what}`);
    }
  }
}

function isValidName(name: string): boolean {
  try {
    validateUnitName(name);
    return true;
  } catch {
    return false;
  }
}

/** Exactly `{"error":{"code":<string>,"message":<non-empty one-line string>}}`, nothing more. */
function checkErrorShape(value: unknown, where: string, report: (kind: string, detail: string) => void, text: string): void {
  const ok = (() => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
    if (Object.keys(value).join() !== "error") return false;
    const error = (value as { error: unknown }).error;
    if (typeof error !== "object" || error === null || Array.isArray(error)) return false;
    if (Object.keys(error).sort().join() !== "code,message") return false;
    const { code, message } = error as { code: unknown; message: unknown };
    return typeof code === "string" && /^[a-z_]+$/.test(code) && typeof message === "string" && message.trim() !== "" && !/[\r\n]/.test(message);
  })();
  if (!ok) report(`${where} of the wrong shape`, text.slice(0, 300));
  const code = (value as { error?: { code?: unknown } } | null)?.error?.code;
  if (code === "internal") report("internal error", text.slice(0, 300));
}

async function healthy(socketPath: string): Promise<string | undefined> {
  try {
    const answer = await rawExchange(socketPath, httpRequest("GET", "/v1/ping"), HEALTH_MS);
    if (answer.status !== 200) return `ping answered ${answer.status}: ${answer.body}`;
    const body = JSON.parse(answer.body) as { version?: unknown };
    return typeof body.version === "string" ? undefined : `ping answered ${answer.body}`;
  } catch (error) {
    return `ping failed: ${(error as Error).message}`;
  }
}

async function getJson(socketPath: string, path: string): Promise<unknown> {
  const answer = await rawExchange(socketPath, httpRequest("GET", path));
  expect({ path, status: answer.status }).toEqual({ path, status: 200 });
  return JSON.parse(answer.body);
}

/** The state as the API tells it: every unit sane, sorted, reachable by name, and the graph acyclic. */
async function checkConsistent(server: RunningServer): Promise<void> {
  const { socketPath } = server;
  const units = (await getJson(socketPath, "/v1/units")) as Array<{ unit_name: string; status: string; is_ready: boolean }>;
  expect(Array.isArray(units)).toBe(true);
  const names = units.map((u) => u.unit_name);
  expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  expect(new Set(names).size).toBe(names.length);
  expect(units.filter((u) => !STATUSES.has(u.status) || typeof u.is_ready !== "boolean")).toEqual([]);
  expect(units.length).toBe(server.view.units().length);
  expect(((await getJson(socketPath, "/v1/ping")) as { units: number }).units).toBe(units.length);

  for (const name of names) {
    const status = (await getJson(socketPath, `/v1/units/${encodeURIComponent(name)}`)) as { unit_name: string; status: string };
    expect({ unit_name: status.unit_name, status: status.status }).toEqual({
      unit_name: name,
      status: units.find((u) => u.unit_name === name)!.status,
    });
  }

  const graph = (await getJson(socketPath, "/v1/graph")) as {
    units: Array<{ unit_name: string }>;
    edges: Array<{ unit_name: string; depends_on: string }>;
  };
  const known = new Set(graph.units.map((u) => u.unit_name));
  expect(graph.edges.filter((e) => !known.has(e.unit_name) || !known.has(e.depends_on))).toEqual([]);
  expect(findCycle(graph.edges)).toBeUndefined();

  const events = (await getJson(socketPath, "/v1/events")) as Array<{ seq: number }>;
  expect(events.every((e, i) => i === 0 || e.seq === events[i - 1]!.seq + 1)).toBe(true);
  await getJson(socketPath, "/v1/timeline");
}

function findCycle(edges: ReadonlyArray<{ unit_name: string; depends_on: string }>): string[] | undefined {
  const out = new Map<string, string[]>();
  for (const { unit_name, depends_on } of edges) out.set(unit_name, [...(out.get(unit_name) ?? []), depends_on]);
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "open") return [...path.slice(path.indexOf(node)), node];
    state.set(node, "open");
    path.push(node);
    for (const next of out.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of out.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** want, a waiting start, and the completes that release it: the ordinary flow still works. */
async function checkOrdinaryFlow(socketPath: string, tag: string): Promise<void> {
  const [waiter, dependency] = [`after-fuzz-${tag}-app`, `after-fuzz-${tag}-dep`];
  const post = async (path: string, body?: string) => {
    const answer = await rawExchange(socketPath, httpRequest("POST", path, body));
    return { status: answer.status, body: JSON.parse(answer.body.split("\n")[0]!) as unknown };
  };
  expect(await post(`/v1/units/${waiter}/dependencies`, JSON.stringify({ depends_on: [dependency] }))).toEqual({
    status: 200,
    body: { unit_name: waiter, dependencies: [dependency] },
  });
  const held = await holdStart(socketPath, waiter, { timeout_ms: 0 });
  try {
    expect(held.lines[0]).toMatchObject({ type: "waiting", unsatisfied: [dependency] });
    expect(await post(`/v1/units/${dependency}/start`, "{}")).toEqual({
      status: 200,
      body: { type: "started", dependencies: [], waited_for: [], traceparent: TRACEPARENT },
    });
    expect((await post(`/v1/units/${dependency}/complete`)).status).toBe(200);
    await held.waitFor((c) => c.answer?.complete === true, `${waiter} to start`);
    expect(held.lines.at(-1)).toEqual({ type: "started", dependencies: [dependency], waited_for: [dependency], traceparent: TRACEPARENT });
  } finally {
    held.close();
  }
  expect(await post(`/v1/units/${waiter}/complete`)).toEqual({ status: 200, body: { unit_name: waiter, status: "completed" } });
}

function summary(violations: Violation[]): string {
  const byKind = new Map<string, Violation[]>();
  for (const v of violations) byKind.set(v.kind, [...(byKind.get(v.kind) ?? []), v]);
  return [...byKind]
    .map(([kind, list]) => {
      const distinct = list.filter((v, i) => list.findIndex((w) => w.detail.slice(0, 60) === v.detail.slice(0, 60)) === i);
      const examples = distinct.slice(0, 3).map((v) => `    ${v.detail}\n      request: ${v.request}`);
      return `  ${kind} (${list.length}x):\n${examples.join("\n")}`;
    })
    .join("\n");
}

type TestServer = Awaited<ReturnType<typeof testServer>>;

/** Runs `batches` batches, checking health and dropped waiters after each; stops early once something hangs. */
async function fuzz(server: TestServer, r: Random, batches: number, violations: Violation[], outcomes: Outcomes): Promise<void> {
  for (let batch = 1; batch <= batches; batch++) {
    const plans = Array.from({ length: CASES_PER_BATCH }, () => plan(r));
    await Promise.all(plans.map((p) => exchange(server.socketPath, p, violations, outcomes)));
    const sick = await healthy(server.socketPath);
    if (sick) throw new Error(`after batch ${batch}, the server is not healthy: ${sick}`);
    // Every connection of the batch is closed: no start may still wait, no follower still listen.
    const dropped = () => server.view.waitingStarts().length === 0 && server.view.followers() === 0;
    await waitUntil(dropped, 5_000, "the waiters and followers of gone clients to be dropped").catch(() => {
      throw new Error(
        `after batch ${batch}, ${server.view.waitingStarts().length} starts still wait (${JSON.stringify(server.view.waitingStarts())}) and ` +
          `${server.view.followers()} event followers still listen, though every client went away`,
      );
    });
    if (violations.some((v) => v.kind === "hang")) return;
  }
  await checkConsistent(server);
}

const SMALL_LIMITS = { units: 24, dependencies: 40, waiting: 2, followers: 1 };

describe("HTTP API fuzz", () => {
  test.each([
    { name: "with the default limits", limits: undefined, batches: DEFAULT_LIMITS_BATCHES },
    { name: "with small limits, reached often", limits: SMALL_LIMITS, batches: SMALL_LIMITS_BATCHES },
  ])("random requests $name leave the server healthy and every answer well-formed", async ({ limits, batches }) => {
    const seed = fuzzSeed();
    const violations: Violation[] = [];
    const outcomes: Outcomes = new Map();
    const server = await testServer({ limits });
    const failures: string[] = [];
    try {
      await fuzz(server, new Random(seed), batches, violations, outcomes);
      if (limits) {
        expect(server.view.units().length).toBeLessThanOrEqual(limits.units);
        expect(outcomes.get("code limit_exceeded") ?? 0).toBeGreaterThan(0);
      } else {
        await checkOrdinaryFlow(server.socketPath, String(seed));
      }
    } catch (error) {
      failures.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    try {
      await server[Symbol.asyncDispose]();
    } catch (error) {
      failures.push(`stopping the server failed: ${error instanceof Error ? error.stack : String(error)}`);
    }
    if (violations.length > 0) failures.push(`${violations.length} violations:\n${summary(violations)}`);
    if (failures.length > 0) throw new Error([rerunHint(seed, "test/server/fuzz.test.ts"), ...failures].join("\n"));
    // The fuzz reached every kind of answer, so the properties above were really put to the test.
    const reached = ["aborted", "JSON success", "JSON error", "NDJSON stream", "bare HTTP error"].map((o) => [o, (outcomes.get(o) ?? 0) > 0]);
    expect(Object.fromEntries(reached)).toEqual(Object.fromEntries(reached.map(([o]) => [o, true])));
  }, 60_000);
});

// Bun 1.4 closes a connection when a second request arrives behind a streaming answer. No
// real client pipelines (curl and fetch do not), so this pins what it means for us: the start
// is treated as a client that went away, and nothing is left behind.
describe("pipelining", () => {
  test("a request pipelined behind a waiting start drops that start cleanly", async () => {
    await using server = await testServer();
    await rawExchange(server.socketPath, httpRequest("POST", "/v1/units/app/dependencies", '{"depends_on":["dep"]}'));
    const start = httpRequest("POST", "/v1/units/app/start", '{"timeout_ms":0,"progress_ms":0}');
    const pipelined = await RawConnection.open(server.socketPath, start + httpRequest("GET", "/v1/ping"));
    await pipelined.closed;
    await waitUntil(() => server.view.waitingStarts().length === 0, 5_000, "the dropped start to leave");
    await rawExchange(server.socketPath, httpRequest("POST", "/v1/units/dep/start", "{}"));
    await rawExchange(server.socketPath, httpRequest("POST", "/v1/units/dep/complete"));
    const ping = await rawExchange(server.socketPath, httpRequest("GET", "/v1/ping"));
    expect({ app: server.view.statusOf("app"), ping: ping.status }).toEqual({ app: "pending", ping: 200 });
  });
});
