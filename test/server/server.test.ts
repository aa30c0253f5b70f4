import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { UnitsyncClient, type WaitingLine } from "../../src/client/index.ts";
import type { ErrorBody } from "../../src/protocol/index.ts";
import { startServer } from "../../src/server/index.ts";
import { tempDir, testNeeding, testServer, TIME, TRACEPARENT, waitUntil } from "../helpers.ts";
import { refusal } from "./_refusal.ts";

async function raw(socketPath: string, method: string, path: string, body?: string, headers?: Record<string, string>) {
  const response = await fetch(`http://unitsync${path}`, { method, unix: socketPath, body, headers });
  return { status: response.status, body: (await response.json()) as ErrorBody };
}

/** Starts `unit` and resolves once the server has reported that it waits. */
async function waitingStart(client: UnitsyncClient, unit: string, timeoutMs = 0) {
  const lines: WaitingLine[] = [];
  const result = client.start(unit, { timeoutMs, onWaiting: (line) => void lines.push(line as WaitingLine) });
  result.catch(() => {});
  await waitUntil(() => lines.length > 0, 5_000, `${unit} to wait`);
  return { result, lines };
}

describe("routes", () => {
  test("ping answers with the version and pid", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("a", ["b"]);
    const ping = await client.ping();
    expect(ping).toEqual({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      pid: process.pid,
      started_at: TIME,
      uptime_ms: expect.any(Number),
      units: 1,
    });
    expect(ping.uptime_ms).toBeGreaterThanOrEqual(0);
  });

  test("want, status and list round-trip", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    expect(await client.want("a", ["b", "c"])).toEqual({ unit_name: "a", dependencies: ["b", "c"] });
    await client.start("b", { timeoutMs: 0 });
    await client.complete("b");
    const edge = { required_status: "completed", requires: "success" as const, declared_at: TIME };
    expect(await client.unitStatus("a")).toEqual({
      unit_name: "a",
      status: "pending",
      is_ready: false,
      registered_at: TIME,
      dependencies: [
        { depends_on: "b", current_status: "completed", is_satisfied: true, ...edge },
        { depends_on: "c", current_status: "not registered", is_satisfied: false, ...edge },
      ],
    });
    const finished = { registered_at: TIME, start_requested_at: TIME, started_at: TIME, completed_at: TIME };
    expect(await client.listUnits()).toEqual([
      { unit_name: "a", status: "pending", is_ready: false, registered_at: TIME },
      { unit_name: "b", status: "completed", is_ready: true, ...finished },
    ]);
  });

  test("status of an unknown unit is not registered, ready, with no dependencies", async () => {
    await using server = await testServer();
    expect(await new UnitsyncClient(server.socketPath).unitStatus("ghost")).toEqual({
      unit_name: "ghost",
      status: "not registered",
      is_ready: true,
      dependencies: [],
    });
  });

  test("unit names with slashes, spaces and unicode survive the path", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    const name = "org/module git-clone ✓ %2F";
    await client.start(name, { timeoutMs: 0 });
    expect((await client.listUnits()).map((u) => u.unit_name)).toEqual([name]);
  });

  test.each([
    ["GET", "/v1/nope", undefined, 404, "not_found"],
    ["GET", "/other", undefined, 404, "not_found"],
    ["DELETE", "/v1/units", undefined, 405, "method_not_allowed"],
    ["GET", "/v1/units/a/complete", undefined, 405, "method_not_allowed"],
    ["POST", "/v1/units/a/dependencies", "{not json", 400, "bad_request"],
    ["POST", "/v1/units/a/dependencies", "[1,2]", 400, "bad_request"],
    ["POST", "/v1/units/a/dependencies", '{"depends_on":"b"}', 400, "bad_request"],
    ["POST", "/v1/units/a/dependencies", '{"depends_on":[]}', 400, "invalid_name"],
    ["POST", "/v1/units/a/dependencies", '{"depends_on":[1]}', 400, "bad_request"],
    ["POST", "/v1/units/a/start", '{"timeout_ms":-1}', 400, "bad_request"],
    ["POST", "/v1/units/a/start", '{"timeout_ms":"5m"}', 400, "bad_request"],
    ["POST", "/v1/units/%E0%A4%A/start", "{}", 400, "bad_request"],
    ["POST", "/v1/units/a%0Ab/start", "{}", 400, "invalid_name"],
    ["POST", `/v1/units/${"x".repeat(300)}/start`, "{}", 400, "invalid_name"],
    ["POST", "/v1/units/ghost/complete", undefined, 404, "not_registered"],
  ])("%s %s %s is refused with %d %s", async (method, path, body, status, code) => {
    await using server = await testServer();
    const answer = await raw(server.socketPath, method, path, body);
    expect({ status: answer.status, code: answer.body.error.code as string }).toEqual({ status, code });
    expect(answer.body.error.message).toBeString();
    expect(server.view.units().length).toBe(0);
  });

  test("a huge body is refused and the server keeps its state", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("a", ["b"]);
    const huge = JSON.stringify({ depends_on: Array.from({ length: 50_000 }, (_, i) => `dep-${i}`) });
    const answer = await fetch("http://unitsync/v1/units/a/dependencies", {
      method: "POST",
      unix: server.socketPath,
      body: huge,
    });
    expect(answer.status).toBe(413);
    expect(await client.unitStatus("a")).toMatchObject({ dependencies: [{ depends_on: "b" }] });
  });
});

describe("start", () => {
  test("starts at once when ready, with the three Coder cases told apart", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    expect(await client.start("solo", { timeoutMs: 0 })).toEqual({ type: "started", dependencies: [], waited_for: [], traceparent: TRACEPARENT });
    await client.want("top", ["solo"]);
    await client.complete("solo");
    expect(await client.start("top", { timeoutMs: 0 })).toEqual({ type: "started", dependencies: ["solo"], waited_for: [], traceparent: TRACEPARENT });
  });

  test("waits on the server and is released by complete", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("claude", ["git-clone", "deps"]);
    const { result, lines } = await waitingStart(client, "claude");
    expect(lines).toEqual([
      {
        type: "waiting",
        unsatisfied: ["deps", "git-clone"],
        details: [
          { depends_on: "deps", requires: "success", current_status: "not registered" },
          { depends_on: "git-clone", requires: "success", current_status: "not registered" },
        ],
      },
    ]);
    await client.start("git-clone", { timeoutMs: 0 });
    await client.complete("git-clone");
    expect(server.view.statusOf("claude")).toBe("pending");
    await client.start("deps", { timeoutMs: 0 });
    await client.complete("deps");
    expect(await result).toEqual({ type: "started", dependencies: ["deps", "git-clone"], waited_for: ["deps", "git-clone"], traceparent: TRACEPARENT });
    expect(server.view.statusOf("claude")).toBe("started");
    expect(server.view.waitingStarts().length).toBe(0);
  });

  test("a dependency declared while waiting is reported and waited for", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("a", ["b"]);
    const { result, lines } = await waitingStart(client, "a");
    await client.want("a", ["c"]);
    await waitUntil(() => lines.length === 2);
    await client.start("b", { timeoutMs: 0 });
    await client.complete("b");
    await client.start("c", { timeoutMs: 0 });
    await client.complete("c");
    expect(await result).toEqual({ type: "started", dependencies: ["b", "c"], waited_for: ["b"], traceparent: TRACEPARENT });
    expect(lines.map(({ type, unsatisfied }) => ({ type, unsatisfied }))).toEqual([
      { type: "waiting", unsatisfied: ["b"] },
      { type: "waiting", unsatisfied: ["b", "c"] },
    ]);
  });

  test("times out on the server, leaving the unit pending", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("a", ["b"]);
    expect(await refusal(client.start("a", { timeoutMs: 50 }))).toEqual({
      code: "timeout",
      message: "timeout waiting for dependencies of unit 'a'",
    });
    expect({ status: server.view.statusOf("a"), waiters: server.view.waitingStarts().length }).toEqual({ status: "pending", waiters: 0 });
  });

  test("a client that goes away is dropped and the unit stays pending", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("a", ["b"]);
    const abort = new AbortController();
    const response = await fetch("http://unitsync/v1/units/a/start", {
      method: "POST",
      unix: server.socketPath,
      body: '{"timeout_ms":0}',
      signal: abort.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    expect(server.view.waitingStarts().length).toBe(1);
    abort.abort();
    await waitUntil(() => server.view.waitingStarts().length === 0, 5_000, "the waiter to be dropped");
    await client.start("b", { timeoutMs: 0 });
    await client.complete("b");
    expect(server.view.statusOf("a")).toBe("pending");
  });

  test("a second waiting start of the same unit is refused", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("a", ["b"]);
    await waitingStart(client, "a");
    expect(await refusal(client.start("a", { timeoutMs: 0 }))).toEqual({
      code: "conflict",
      message: 'another client is already waiting to start unit "a"',
    });
  });

  test("completing a unit while its start waits ends that start with an error", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("a", ["b"]);
    const { result } = await waitingStart(client, "a");
    await client.complete("a");
    expect(await refusal(result)).toEqual({
      code: "wrong_state",
      message: 'unit "a" became completed through another client while this start waited',
    });
  });

  test("one complete releases every waiter in a wide fan-out", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    const units = Array.from({ length: 200 }, (_, i) => `w${i}`);
    for (const unit of units) await client.want(unit, ["root"]);
    const starts = await Promise.all(units.map((unit) => waitingStart(client, unit)));
    expect(server.view.waitingStarts().length).toBe(200);
    await client.start("root", { timeoutMs: 0 });
    await client.complete("root");
    const results = await Promise.all(starts.map((s) => s.result));
    expect(results.every((r) => r.type === "started")).toBe(true);
    expect(server.view.units().filter((u) => u.status === "started")).toHaveLength(200);
  });

  test("a chain releases link by link", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    for (let i = 1; i < 6; i++) await client.want(`c${i}`, [`c${i - 1}`]);
    const starts = await Promise.all([1, 2, 3, 4, 5].map((i) => waitingStart(client, `c${i}`)));
    const order: string[] = [];
    const unfollow = server.view.followEvents(0, (e) => e.type === "status_changed" && e.to === "started" && order.push(e.unit));
    await client.start("c0", { timeoutMs: 0 });
    for (let i = 0; i < 6; i++) {
      await waitUntil(() => server.view.statusOf(`c${i}`) === "started");
      await client.complete(`c${i}`);
    }
    await Promise.all(starts.map((s) => s.result));
    unfollow();
    expect(order).toEqual(["c0", "c1", "c2", "c3", "c4", "c5"]);
  });

  test("stopping the server ends waiting starts with server_closing", async () => {
    const server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("a", ["b"]);
    const { result } = await waitingStart(client, "a");
    await server[Symbol.asyncDispose]();
    expect((await refusal(result)).code).toBe("server_closing");
  });
});

describe("socket file", () => {
  test("is 0600 in a 0700 directory that the server created, and removed on stop", async () => {
    using dir = tempDir();
    const socketPath = join(dir.path, "nested", "unitsync.sock");
    const server = await startServer({ socketPath });
    expect({
      socket: statSync(socketPath).mode & 0o777,
      directory: statSync(join(dir.path, "nested")).mode & 0o777,
    }).toEqual({ socket: 0o600, directory: 0o700 });
    await server.stop();
    expect(await Bun.file(socketPath).exists()).toBe(false);
  });

  test("a second server on a live path is refused and the first keeps serving", async () => {
    await using server = await testServer();
    expect(await refusal(startServer({ socketPath: server.socketPath }))).toEqual({
      code: "conflict",
      message: `another unitsync server is already listening on ${server.socketPath}`,
    });
    expect(await new UnitsyncClient(server.socketPath).ping()).toHaveProperty("pid");
  });

  testNeeding("python3")("a stale socket file is replaced", async () => {
    using dir = tempDir();
    const socketPath = join(dir.path, "unitsync.sock");
    const stale = Bun.listen({ unix: socketPath, socket: { data() {} } });
    stale.stop(false);
    // Bun removes the file on stop; bind again without a listener to leave a true stale file behind.
    await Bun.$`python3 -c ${`import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(socketPath)})`}`.quiet();
    expect(statSync(socketPath).isSocket()).toBe(true);
    const server = await startServer({ socketPath });
    expect(await new UnitsyncClient(socketPath).ping()).toHaveProperty("pid");
    await server.stop();
  });

  test.each([
    ["a regular file", (path: string) => Bun.write(path, "x"), "exists and is not a socket"],
    ["a symbolic link", (path: string) => Bun.$`ln -s /tmp/elsewhere ${path}`.quiet(), "is a symbolic link"],
  ])("%s at the path is refused", async (_, plant, message) => {
    using dir = tempDir();
    const socketPath = join(dir.path, "unitsync.sock");
    await plant(socketPath);
    const refused = await refusal(startServer({ socketPath }));
    expect({ code: refused.code, mentions: refused.message.includes(message) }).toEqual({ code: "conflict", mentions: true });
  });

  test("a socket path too long for sun_path is refused up front", async () => {
    const socketPath = `/tmp/${"x".repeat(120)}/unitsync.sock`;
    expect((await refusal(startServer({ socketPath }))).code).toBe("usage");
  });
});

describe("failure", () => {
  test("a failure releases every waiter in the downstream cone with exit-3 errors and reason chains", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("claude", ["git-clone"]);
    await client.want("review", ["claude"]);
    await client.want("lint", ["git-clone"]);
    await client.want("report", ["git-clone"], "completion");
    const waiting = await Promise.all(["claude", "review", "lint", "report"].map((unit) => waitingStart(client, unit)));
    await client.start("git-clone", { timeoutMs: 0 });
    await client.fail("git-clone", "exit code 128");
    const outcomes = await Promise.all(waiting.map((w) => w.result.then((line) => line.type, (error) => refusal(Promise.reject(error)))));
    expect(outcomes).toEqual([
      { code: "dependency_failed", message: 'claude: dependency "git-clone" failed: exit code 128' },
      { code: "dependency_failed", message: 'review: dependency "claude" failed: dependency "git-clone" failed: exit code 128' },
      { code: "dependency_failed", message: 'lint: dependency "git-clone" failed: exit code 128' },
      "started",
    ]);
    expect(server.view.waitingStarts().length).toBe(0);
  });

  test("a failure at the bottom of a 10,000-deep chain ends the starts waiting along it, each with a short reason", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    for (let i = 1; i < 10_000; i++) await client.want(`a${i}`, [`a${i + 1}`]);
    const units = ["a9999", "a9998", "a9997", "a5000", "a1"];
    const waiting = await Promise.all(units.map((unit) => waitingStart(client, unit)));
    await client.fail("a10000", "exit code 1");
    const outcomes = await Promise.all(waiting.map((w) => refusal(w.result)));
    expect(outcomes.map((outcome) => outcome.message)).toEqual([
      'a9999: dependency "a10000" failed: exit code 1',
      'a9998: dependency "a9999" failed: dependency "a10000" failed: exit code 1',
      'a9997: dependency "a9998" failed: ... 1 more failed dependency ...: dependency "a10000" failed: exit code 1',
      'a5000: dependency "a5001" failed: ... 4,998 more failed dependencies ...: dependency "a10000" failed: exit code 1',
      'a1: dependency "a2" failed: ... 9,997 more failed dependencies ...: dependency "a10000" failed: exit code 1',
    ]);
    expect(server.view.waitingStarts().length).toBe(0);
  });

  test("a start of a unit failed by propagation is refused with the chain; a retry of the root re-arms it", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("claude", ["git-clone"]);
    await client.fail("git-clone", "exit code 128");
    expect(await refusal(client.start("claude", { timeoutMs: 0 }))).toEqual({
      code: "dependency_failed",
      message: 'claude: dependency "git-clone" failed: exit code 128',
    });
    await client.start("git-clone", { timeoutMs: 0 });
    const { result } = await waitingStart(client, "claude");
    await client.complete("git-clone");
    expect((await result).type).toBe("started");
  });

  test.each([
    ['{"requires":"sometimes","depends_on":["b"]}', "dependencies", 400, "bad_request"],
    ['{"reason":42}', "fail", 400, "bad_request"],
  ])("%s on %s is refused", async (body, route, status, code) => {
    await using server = await testServer();
    const answer = await raw(server.socketPath, "POST", `/v1/units/a/${route}`, body);
    expect({ status: answer.status, code: answer.body.error.code as string, units: server.view.units().length }).toEqual({ status, code, units: 0 });
  });

  test("a multi-line reason is kept on one line", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    expect(await client.fail("a", "fatal: repository\n\tnot found\u0007")).toEqual({
      unit_name: "a",
      status: "failed",
      reason: "fatal: repository not found",
    });
  });
});
