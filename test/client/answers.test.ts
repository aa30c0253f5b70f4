import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  check,
  COMPLETE,
  ERROR_BODY,
  EVENT_LINE,
  EVENTS,
  GRAPH,
  PING,
  START_LINE,
  TIMELINE,
  UNIT_LIST,
  UNIT_STATUS,
  WANT,
} from "../../src/client/answers.ts";
import { UnitsyncClient, type ProgressLine, type WaitingLine } from "../../src/client/index.ts";
import { UnitsyncError } from "../../src/protocol/index.ts";
import { tempDir, testServer } from "../helpers.ts";

const TIME = "2025-01-31T12:00:00.123Z";

/** Any shape, whatever it fits. */
type Check = Parameters<typeof check>[0];

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UnitsyncError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a failure");
}

describe("a real server's answers fit their shapes", () => {
  test("every route, every kind of line", async () => {
    await using server = await testServer();
    const raw = (path: string) => fetch(`http://unitsync/v1${path}`, { unix: server.socketPath }).then((r) => r.json());
    const client = new UnitsyncClient(server.socketPath);
    const lines: Array<WaitingLine | ProgressLine> = [];
    let progressed = () => {};
    const progress = new Promise<void>((resolve) => (progressed = resolve));
    await client.want("app", ["db", "cache"]);
    await client.want("db", ["dbb"], "completion");
    const onWaiting = (line: WaitingLine | ProgressLine) => {
      lines.push(line);
      if (line.type === "progress") progressed();
    };
    const app = client.start("app", { timeoutMs: 0, progressMs: 1, onWaiting });
    await progress;
    await client.start("cache", { timeoutMs: 0 });
    await client.complete("cache");
    await client.fail("dbb", "exit code 1");
    await client.start("db", { timeoutMs: 0 });
    await client.complete("db");
    await app;
    await client.want("web", ["broken"]);
    await client.fail("broken", "line one\nline two");
    const refused = await failure(client.start("web", { timeoutMs: 0 }));
    const answers: Array<[Check, unknown]> = [
      [PING, await raw("/ping")],
      [UNIT_LIST, await raw("/units")],
      [UNIT_STATUS, await raw("/units/app")],
      [UNIT_STATUS, await raw("/units/web")],
      [UNIT_STATUS, await raw("/units/nobody")],
      [EVENTS, await raw("/events")],
      [GRAPH, await raw("/graph")],
      [TIMELINE, await raw("/timeline")],
      [ERROR_BODY, await raw("/units/a/nothing")],
    ];
    expect({
      problems: answers.map(([shape, value]) => check(shape, value)).filter((problem) => problem !== undefined),
      kinds: [...new Set(lines.map((line) => line.type))].sort(),
      refused: refused.code,
    }).toEqual({ problems: [], kinds: ["progress", "waiting"], refused: "dependency_failed" });
  });
});

describe("what does not fit says where and why", () => {
  const cases: Array<[string, Check, unknown, string]> = [
    ["an empty object for ping", PING, {}, ".version: expected a string, got nothing"],
    ["null", PING, null, ": expected an object, got null"],
    ["an array for an object", GRAPH, [1, 2], ": expected an object, got an array"],
    ["an object for the list", UNIT_LIST, { units: "x" }, ": expected an array, got an object"],
    ["a number for a string", WANT, { unit_name: 5, dependencies: [] }, ".unit_name: expected a string, got 5"],
    ["a string for a count", PING, { version: "1", pid: "42" }, `.pid: expected a whole number, got "42"`],
    ["a negative pid", PING, { version: "1", pid: -1 }, ".pid: expected a whole number, got -1"],
    ["an unknown status", COMPLETE, { unit_name: "a", status: "done" }, `.status: expected one of pending, started, completed, failed, got "done"`],
    ["an empty unit name", WANT, { unit_name: "", dependencies: [] }, `.unit_name: expected a unit name, got ""`],
    ["a control character", COMPLETE, { unit_name: "a\u001b[31m", status: "failed" }, `.unit_name: expected one line of text, got "a\\u001b[31m"`],
    ["a C1 control character", COMPLETE, { unit_name: "a\u0085", status: "failed" }, `.unit_name: expected one line of text, got "a\\u0085"`],
    ["a bad element deep down", UNIT_LIST, [{ unit_name: "a", status: "started", is_ready: true, registered_at: TIME }, { unit_name: "b", status: "started", is_ready: "yes" }], `[1].is_ready: expected true or false, got "yes"`],
    ["a time that is not one", UNIT_LIST, [{ unit_name: "a", status: "started", is_ready: true, registered_at: "yesterday" }], `[0].registered_at: expected an RFC 3339 time, got "yesterday"`],
    ["an unknown error code", ERROR_BODY, { error: { code: "oops", message: "x" } }, `.error.code: expected a known error code, got "oops"`],
    ["an error message on two lines", ERROR_BODY, { error: { code: "cycle", message: "a\nb" } }, `.error.message: expected one line of text, got "a\\nb"`],
    ["a line of an unknown type", START_LINE, { type: "done" }, `.type: expected one of waiting, progress, started, error, got "done"`],
    ["a line with no type", EVENT_LINE, { seq: 1 }, `.type: expected one of registered, dependencies_added, start_requested, status_changed, members_added, first_declared, dependencies_removed, lock_waiting, lock_acquired, lock_released, lock_left, error, got nothing`],
    ["a type that is a prototype key", START_LINE, { type: "constructor" }, `.type: expected one of waiting, progress, started, error, got "constructor"`],
    ["a started line without its lists", START_LINE, { type: "started", dependencies: [] }, ".waited_for: expected an array, got nothing"],
    ["an event with a bad requirement", EVENTS, [{ seq: 1, time: TIME, unit: "a", type: "dependencies_added", dependencies: ["b"], requires: "all" }], `[0].requires: expected one of success, completion, started, got "all"`],
    ["an infinite timeline", TIMELINE, { origin: TIME, now_ms: "Infinity" }, `.now_ms: expected a number, got "Infinity"`],
    ["a long wrong value, cut short", PING, { version: "x".repeat(100) + "\n" }, `.version: expected one line of text, got "${"x".repeat(39)}...`],
  ];
  test.each(cases)("%s", (_, shape, value, problem) => {
    expect(check(shape, value)).toBe(problem);
  });

  test("fields the protocol does not name yet are welcome", () => {
    expect(check(COMPLETE, { unit_name: "a", status: "completed", added_later: { any: ["thing"] } })).toBeUndefined();
  });
});

describe("an answer too long to be one", () => {
  test.each([
    ["a JSON answer with its length", () => new Response(JSON.stringify({ version: "x".repeat(500) }), { headers: { "content-type": "application/json" } }), "the answer"],
    ["a JSON answer without it", () => new Response(new Blob([JSON.stringify({ version: "x".repeat(500) })]).stream(), { headers: { "content-type": "application/json" } }), "the answer"],
  ] as const)("%s", async (_, answer, what) => {
    using dir = tempDir();
    const socketPath = join(dir.path, "fake.sock");
    using _server = Bun.serve({ unix: socketPath, fetch: answer });
    const client = new UnitsyncClient(socketPath, { maxAnswerLength: 100 });
    expect(await failure(client.ping())).toEqual({
      code: "unexpected_answer",
      message: `unexpected answer from ${socketPath}: ${what} is longer than 100 characters`,
    });
  });

  test("a line of a stream", async () => {
    using dir = tempDir();
    const socketPath = join(dir.path, "fake.sock");
    const line = JSON.stringify({ type: "waiting", unsatisfied: ["x".repeat(500)], details: [] });
    using _server = Bun.serve({
      unix: socketPath,
      fetch: () => new Response(`${line}\n`, { headers: { "content-type": "application/x-ndjson" } }),
    });
    const client = new UnitsyncClient(socketPath, { maxAnswerLength: 100 });
    expect(await failure(client.start("a", { timeoutMs: 0 }))).toEqual({
      code: "unexpected_answer",
      message: `unexpected answer from ${socketPath}: line 1 is longer than 100 characters`,
    });
  });
});
