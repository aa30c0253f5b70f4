// A client killed at every point of a `start`: mid-request (at every byte), while waiting,
// and right after its release. The server must stay consistent: no waiter left behind, and
// no unit started for a client that was already gone.
import { describe, expect, test } from "bun:test";
import { UnitsyncClient } from "../../src/client/index.ts";
import { testServer, waitUntil } from "../helpers.ts";
import { holdStart, httpRequest, RawConnection } from "../raw-http.ts";

const startRequest = (unit: string) => httpRequest("POST", `/v1/units/${unit}/start`, JSON.stringify({ timeout_ms: 0 }));

describe("a client killed during start", () => {
  test("at every byte of the request: nothing waits and nothing starts", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("u", ["gate"]);
    const request = startRequest("u");
    for (let cut = 0; cut <= request.length; cut++) {
      const connection = await RawConnection.open(server.socketPath, request.slice(0, cut));
      connection.close();
      await connection.closed;
      // A whole request may still be read and begin waiting before the close is seen.
      await waitUntil(() => server.view.waitingStarts().length === 0, 5_000, `no waiter after a cut at byte ${cut}`);
      expect({ cut, status: server.view.statusOf("u") }).toEqual({ cut, status: "pending" });
    }
    await client.start("gate", { timeoutMs: 0 });
    await client.complete("gate");
    expect(server.view.statusOf("u")).toBe("pending");
    expect((await client.start("u", { timeoutMs: 0 })).type).toBe("started");
  });

  test("while waiting: the waiter is dropped and the release later starts nothing", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("u", ["gate"]);
    await client.start("gate", { timeoutMs: 0 });
    for (let round = 0; round < 20; round++) {
      const waiting = await holdStart(server.socketPath, "u");
      expect(waiting.lines).toEqual([expect.objectContaining({ type: "waiting", unsatisfied: ["gate"] })]);
      waiting.close();
      await waitUntil(() => server.view.waitingStarts().length === 0, 5_000, "the waiter to be dropped");
    }
    await client.complete("gate");
    expect({ status: server.view.statusOf("u"), waiting: server.view.waitingStarts().length }).toEqual({ status: "pending", waiting: 0 });
  });

  test("right after the release: the unit is started, once, for the client that was told", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("u", ["gate"]);
    await client.start("gate", { timeoutMs: 0 });
    const waiting = await holdStart(server.socketPath, "u");
    await client.complete("gate");
    await waiting.waitFor((c) => c.lines.length === 2, "the started line");
    waiting.close();
    expect({ last: waiting.lines[1], status: server.view.statusOf("u"), waiting: server.view.waitingStarts().length }).toEqual({
      last: expect.objectContaining({ type: "started" }),
      status: "started",
      waiting: 0,
    });
  });

  test("half of 50 waiters killed just before their release: theirs stay pending, the others start", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    const units = Array.from({ length: 50 }, (_, i) => `u${i}`);
    for (const unit of units) await client.want(unit, [`${unit}-gate`]);
    const held = await Promise.all(units.map((unit) => holdStart(server.socketPath, unit)));
    // Every other connection closes while its release is already on its way.
    await Promise.all(
      units.map(async (unit, i) => {
        if (i % 2 === 0) held[i]!.close();
        await client.start(`${unit}-gate`, { timeoutMs: 0 });
        await client.complete(`${unit}-gate`);
      }),
    );
    await waitUntil(() => server.view.waitingStarts().length === 0, 5_000, "no waiter left");
    const kept = held.filter((_, i) => i % 2 === 1);
    await Promise.all(kept.map((c) => c.waitFor((x) => x.answer?.complete === true, "the release")));
    expect({
      closedStatuses: [...new Set(units.filter((_, i) => i % 2 === 0).map((unit) => server.view.statusOf(unit)))],
      keptLines: [...new Set(kept.map((c) => (c.lines.at(-1) as { type: string }).type))],
      keptStatuses: [...new Set(units.filter((_, i) => i % 2 === 1).map((unit) => server.view.statusOf(unit)))],
    }).toEqual({ closedStatuses: ["pending"], keptLines: ["started"], keptStatuses: ["started"] });
  });
});
