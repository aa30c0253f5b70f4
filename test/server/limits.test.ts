import { describe, expect, test } from "bun:test";
import { UnitsyncClient } from "../../src/client/index.ts";
import { DEFAULT_LIMITS } from "../../src/server/index.ts";
import { testServer, waitUntil } from "../helpers.ts";
import { holdStart, httpRequest, RawConnection, rawExchange } from "../raw-http.ts";
import { refusal } from "./_refusal.ts";

describe("limits", () => {
  test("the defaults leave room for any real workspace", () => {
    expect(DEFAULT_LIMITS).toEqual({ units: 50_000, dependencies: 200_000, waiting: 10_000, followers: 100 });
  });

  test("unit names: past the limit nothing is registered, and known names still work", async () => {
    await using server = await testServer({ limits: { units: 3 } });
    const client = new UnitsyncClient(server.socketPath);
    await client.want("a", ["b"]);
    const before = await client.listUnits();
    // Two new names where one is left: refused whole, not half done.
    expect(await refusal(client.want("c", ["d"]))).toEqual({
      code: "limit_exceeded",
      message: "the server already knows 2 unit names and holds at most 3; is a script inventing names in a loop?",
    });
    expect(await client.listUnits()).toEqual(before);
    await client.start("b", { timeoutMs: 0 });
    await client.want("c", ["b"]);
    expect((await refusal(client.start("x", { timeoutMs: 0 }))).code).toBe("limit_exceeded");
    expect((await refusal(client.fail("y", "no reason"))).code).toBe("limit_exceeded");
    await client.complete("b");
    await client.want("c", ["a"]);
    expect((await client.listUnits()).map((u) => [u.unit_name, u.status])).toEqual([
      ["a", "pending"],
      ["b", "completed"],
      ["c", "pending"],
    ]);
  });

  test("dependencies: past the limit the whole declaration is refused", async () => {
    await using server = await testServer({ limits: { dependencies: 3 } });
    const client = new UnitsyncClient(server.socketPath);
    await client.want("a", ["b", "c"]);
    expect(await refusal(client.want("d", ["b", "c"]))).toEqual({
      code: "limit_exceeded",
      message: "the server already holds 2 dependencies and at most 3; is a script declaring them in a loop?",
    });
    expect(server.view.statusOf("d")).toBeUndefined();
    // Declaring an edge again adds nothing, so it is not refused.
    await client.want("a", ["b", "c"]);
    await client.want("d", ["b"]);
    expect((await refusal(client.want("e", ["b"]))).code).toBe("limit_exceeded");
  });

  test("waiting starts: one too many is refused; a ready start still goes through; freed slots are reused", async () => {
    await using server = await testServer({ limits: { waiting: 2 } });
    const client = new UnitsyncClient(server.socketPath);
    for (const unit of ["w1", "w2", "w3"]) await client.want(unit, ["gate"]);
    const held = [await holdStart(server.socketPath, "w1"), await holdStart(server.socketPath, "w2")];
    const third = await rawExchange(server.socketPath, httpRequest("POST", "/v1/units/w3/start", "{}"));
    expect({ status: third.status, body: JSON.parse(third.body) }).toEqual({
      status: 507,
      body: {
        error: {
          code: "limit_exceeded",
          message: '2 starts are already waiting, the most this server allows; unit "w3" cannot wait too',
        },
      },
    });
    expect(server.view.timeline().units.find((u) => u.unit_name === "w3")?.start_requested_ms).toBeUndefined();
    expect((await client.start("gate", { timeoutMs: 0 })).type).toBe("started");
    held[0]!.close();
    await waitUntil(() => server.view.waitingStarts().length === 1, 5_000, "the closed waiter to be dropped");
    const again = await holdStart(server.socketPath, "w3");
    expect(again.lines).toEqual([expect.objectContaining({ type: "waiting", unsatisfied: ["gate"] })]);
    await client.complete("gate");
    await Promise.all([held[1]!, again].map((c) => c.waitFor((x) => x.answer?.complete === true, "the release")));
    expect([held[1]!, again].map((c) => (c.lines.at(-1) as { type: string }).type)).toEqual(["started", "started"]);
  });

  test("event followers: one too many is refused, and a follower leaving frees its place", async () => {
    await using server = await testServer({ limits: { followers: 1 } });
    const follow = httpRequest("GET", "/v1/events?follow=1");
    const first = await RawConnection.open(server.socketPath, follow);
    await waitUntil(() => server.view.followers() === 1, 5_000, "the first follower");
    const second = await rawExchange(server.socketPath, follow);
    expect({ status: second.status, code: JSON.parse(second.body).error.code }).toEqual({ status: 507, code: "limit_exceeded" });
    first.close();
    await waitUntil(() => server.view.followers() === 0, 5_000, "the follower to leave");
    const third = await RawConnection.open(server.socketPath, follow);
    await waitUntil(() => server.view.followers() === 1, 5_000, "a new follower to be accepted");
    third.close();
  });

  test("bodies: over 64 KiB (counted in bytes) is a JSON 413, up to Bun's own 1 MiB ceiling", async () => {
    await using server = await testServer();
    const answer = async (body: string) => {
      const raw = await rawExchange(server.socketPath, httpRequest("POST", "/v1/units/u/fail", body));
      return { status: raw.status, body: raw.body === "" ? "" : JSON.parse(raw.body) };
    };
    const tooLarge = { error: { code: "payload_too_large", message: "request body is larger than 65536 bytes" } };
    // 22,000 three-byte characters: under 64 Ki characters, over 64 KiB.
    expect(await answer(JSON.stringify({ reason: "€".repeat(22_000) }))).toEqual({ status: 413, body: tooLarge });
    expect(await answer(JSON.stringify({ reason: "r".repeat(500_000) }))).toEqual({ status: 413, body: tooLarge });
    expect((await answer(JSON.stringify({ reason: "r".repeat(60_000) }))).status).toBe(200);
  });
});

describe("malformed requests", () => {
  test.each([
    ["a Host header that makes no URL", "GET /v1/ping HTTP/1.1\r\nhost: a b\r\n\r\n"],
    ["no Host header on HTTP/1.0", "GET /v1/ping HTTP/1.0\r\n\r\n"],
  ])("%s is a 400 bad_request, not a server error", async (_, request) => {
    await using server = await testServer();
    const answer = await rawExchange(server.socketPath, request);
    expect({ status: answer.status, body: JSON.parse(answer.body) }).toEqual({
      status: 400,
      body: { error: { code: "bad_request", message: "the request's URL is not valid; check its Host header" } },
    });
  });

  test("a connection that sends nothing, or half a request, is closed by the server (after about 12 s)", async () => {
    await using server = await testServer();
    const silent = await RawConnection.open(server.socketPath, "");
    const half = await RawConnection.open(server.socketPath, "GET /v1/ping HTTP/1.1\r\nHost: x\r\n");
    const outcomes = await Promise.all([silent, half].map((connection) => connection.outcome(() => false, 25_000)));
    expect(outcomes).toEqual(["closed", "closed"]);
  }, 30_000);
});
