// The `complete` (or `fail`) that releases many waiting starts is answered first; the waiters
// move just after, and nothing that reads the state sees them before they moved.
import { describe, expect, test } from "bun:test";
import { UnitGraph } from "../../src/graph/index.ts";
import type { StartLine } from "../../src/protocol/index.ts";
import { StartWaiters, type StartSink } from "../../src/server/waiters.ts";
import { RawConnection, holdStart, httpRequest, parseAnswers, rawExchange } from "../raw-http.ts";
import { testServer, waitUntil } from "../helpers.ts";

function collectingSink(): StartSink & { lines: StartLine[]; ended: boolean } {
  return {
    lines: [],
    ended: false,
    gone: false,
    write(line) {
      this.lines.push(line);
    },
    end() {
      this.ended = true;
    },
  };
}

describe("a change that concerns many waiters", () => {
  test("marks them and moves them at the next settle, not inside the change", () => {
    const graph = new UnitGraph();
    const waiters = new StartWaiters(graph);
    graph.register("gate");
    const sinks = Array.from({ length: 1_000 }, (_, i) => {
      graph.declareDependencies(`w${i}`, ["gate"], "success");
      const sink = collectingSink();
      waiters.begin(`w${i}`, sink, { timeoutMs: 0 });
      return sink;
    });
    expect(waiters.size).toBe(1_000);

    graph.start("gate");
    graph.complete("gate");
    // The trigger's own work is done and no waiter has been touched yet.
    expect(sinks.every((s) => s.lines.length === 1 && !s.ended)).toBe(true);
    expect(graph.statusOf("w0")).toBe("pending");

    waiters.settle();
    expect(waiters.size).toBe(0);
    for (const sink of sinks) {
      expect(sink.lines.at(-1)).toEqual({ type: "started", dependencies: ["gate"], waited_for: ["gate"] });
      expect(sink.ended).toBe(true);
    }
    expect(graph.statusOf("w999")).toBe("started");
  });

  test("a start made while settling releases its own waiters in the same settle", () => {
    const graph = new UnitGraph();
    const waiters = new StartWaiters(graph);
    // c waits for b to have started; b waits for a to complete.
    graph.declareDependencies("b", ["a"], "success");
    graph.declareDependencies("c", ["b"], "started");
    const b = collectingSink();
    const c = collectingSink();
    waiters.begin("b", b, { timeoutMs: 0 });
    waiters.begin("c", c, { timeoutMs: 0 });
    graph.register("a");
    graph.start("a");
    graph.complete("a");
    waiters.settle();
    expect(b.lines.at(-1)?.type).toBe("started");
    expect(c.lines.at(-1)?.type).toBe("started");
  });

  test("a waiter whose unit failed under it ends with the failure, once", () => {
    const graph = new UnitGraph();
    const waiters = new StartWaiters(graph);
    graph.declareDependencies("app", ["db"], "success");
    const sink = collectingSink();
    waiters.begin("app", sink, { timeoutMs: 0 });
    graph.register("db");
    graph.fail("db", "disk full");
    expect(sink.ended).toBe(false);
    waiters.settle();
    waiters.settle();
    expect(sink.lines.slice(1)).toEqual([
      { type: "error", error: { code: "dependency_failed", message: "app: dependency \"db\" failed: disk full" } },
    ]);
    expect(sink.ended).toBe(true);
  });
});

describe("over HTTP", () => {
  test("the next request sees every waiter released, and each gets its started line", async () => {
    await using server = await testServer();
    const held = [];
    for (let i = 0; i < 300; i++) {
      await rawExchange(server.socketPath, httpRequest("POST", `/v1/units/w${i}/dependencies`, JSON.stringify({ depends_on: ["gate"] })));
      held.push(await holdStart(server.socketPath, `w${i}`));
    }
    await rawExchange(server.socketPath, httpRequest("POST", "/v1/units/gate/start", "{}"));
    // Pipelined on one connection: the status is read in the same turn as the complete, before
    // the deferred release would run by itself.
    const pipelined = await RawConnection.open(
      server.socketPath,
      httpRequest("POST", "/v1/units/gate/complete", "{}") + httpRequest("GET", "/v1/units/w299"),
    );
    const answers = () => parseAnswers(pipelined.bytes, ["POST", "GET"], pipelined.isClosed).answers;
    await pipelined.waitFor(() => answers().filter((a) => a.complete).length === 2, "both answers");
    pipelined.close();
    const [completed, status] = answers();
    expect(completed!.status).toBe(200);
    expect(JSON.parse(status!.body.toString())).toMatchObject({ unit_name: "w299", status: "started" });
    for (const connection of held) {
      await connection.waitFor((c) => c.lines.length > 1, "the started line");
      expect(connection.lines.at(-1)).toMatchObject({ type: "started", waited_for: ["gate"] });
      connection.close();
    }
  });
});

describe("a waiting start's one timer", () => {
  const lines = (sink: ReturnType<typeof collectingSink>, type: StartLine["type"]) => sink.lines.filter((line) => line.type === type).length;

  // Reminders are due at fixed times from the start, so a late timer never adds or loses one.
  test.each([
    ["a reminder every 20 ms, then the time-out at 110 ms", { progressMs: 20, timeoutMs: 110 }, 5],
    ["the time-out before any reminder", { progressMs: 500, timeoutMs: 30 }, 0],
    ["no reminders", { progressMs: 0, timeoutMs: 30 }, 0],
  ])("%s", async (_, options, reminders) => {
    const graph = new UnitGraph();
    const waiters = new StartWaiters(graph);
    graph.declareDependencies("w", ["gate"]);
    const sink = collectingSink();
    waiters.begin("w", sink, options);
    await waitUntil(() => sink.ended, 5_000, "the time-out");
    expect({ reminders: lines(sink, "progress"), last: sink.lines.at(-1), waiting: waiters.size }).toEqual({
      reminders,
      last: { type: "error", error: { code: "timeout", message: "timeout waiting for dependencies of unit 'w'" } },
      waiting: 0,
    });
  });

  test("reminders go on without a time-out, and stop when the start is released", async () => {
    const graph = new UnitGraph();
    const waiters = new StartWaiters(graph);
    graph.declareDependencies("w", ["gate"]);
    const sink = collectingSink();
    waiters.begin("w", sink, { progressMs: 10, timeoutMs: 0 });
    await waitUntil(() => lines(sink, "progress") >= 3, 5_000, "three reminders");
    graph.start("gate");
    graph.complete("gate");
    waiters.settle();
    const sent = sink.lines.length;
    await waitUntil(() => sink.ended, 5_000, "the release");
    expect({ last: sink.lines.at(-1)!.type, after: sink.lines.length - sent, waiting: waiters.size }).toEqual({ last: "started", after: 0, waiting: 0 });
  });
});
