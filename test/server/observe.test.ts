import { describe, expect, test } from "bun:test";
import { UnitsyncClient, type ProgressLine, type WaitingLine } from "../../src/client/index.ts";
import { UnitGraph } from "../../src/graph/index.ts";
import type { EventEntry, WaitDetail } from "../../src/protocol/index.ts";
import { EventLog } from "../../src/server/events.ts";
import { testServer, TIME, waitUntil } from "../helpers.ts";

describe("the event log", () => {
  test("keeps the newest entries only, numbered without gaps, and replays them to a follower", () => {
    const graph = new UnitGraph();
    const log = new EventLog(graph, 5);
    for (let i = 0; i < 4; i++) graph.start(`u${i}`); // 3 events each: registered, start_requested, started
    const followed: EventEntry[] = [];
    const stop = log.follow(0, (event) => followed.push(event as EventEntry));
    graph.complete("u0");
    stop();
    graph.complete("u1");
    expect({
      held: log.since().map((e) => e.seq),
      after: log.since(12).map((e) => [e.seq, e.unit, e.type]),
      followed: followed.map((e) => e.seq),
      firstSeq: log.firstSeq,
      followers: log.followers,
    }).toEqual({
      held: [10, 11, 12, 13, 14],
      after: [
        [13, "u0", "status_changed"],
        [14, "u1", "status_changed"],
      ],
      followed: [8, 9, 10, 11, 12, 13],
      firstSeq: 10,
      followers: 0,
    });
  });

  test("under concurrent clients: every event once, numbered in order, times never going back", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    const units = Array.from({ length: 20 }, (_, i) => `unit-${i}`);
    await Promise.all(
      units.map(async (unit, i) => {
        if (i > 0) await client.want(unit, [units[i - 1]!]);
        await client.start(unit, { timeoutMs: 0 });
        await client.complete(unit);
      }),
    );
    const events = (await client.events()) as EventEntry[];
    const perUnit = new Map<string, string[]>();
    for (const event of events) {
      const step = event.type === "status_changed" ? event.to : event.type;
      perUnit.set(event.unit, [...(perUnit.get(event.unit) ?? []), step]);
    }
    const times = events.map((e) => Date.parse(e.time));
    expect({
      seqs: events.map((e) => e.seq),
      ordered: times.every((time, i) => i === 0 || time >= times[i - 1]!),
      perUnit: Object.fromEntries(perUnit),
    }).toEqual({
      seqs: Array.from({ length: events.length }, (_, i) => i + 1),
      ordered: true,
      perUnit: Object.fromEntries(
        units.map((unit, i) => [
          unit,
          i === 0
            ? ["registered", "start_requested", "started", "completed"]
            : ["registered", "dependencies_added", "start_requested", "started", "completed"],
        ]),
      ),
    });
    // Each unit started only after the one it depends on completed.
    const seqOf = (unit: string, to: string) =>
      events.find((e) => e.unit === unit && e.type === "status_changed" && e.to === to)!.seq;
    expect(units.slice(1).every((unit, i) => seqOf(unit, "started") > seqOf(units[i]!, "completed"))).toBe(true);
  });

  test("a follower gets the past, then each new event as it happens, and is dropped when it leaves", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.start("early", { timeoutMs: 0 });
    const seen: EventEntry[] = [];
    const abort = new AbortController();
    const follow = fetch("http://unitsync/v1/events?follow=1", { unix: server.socketPath, signal: abort.signal }).then(
      async (response) => {
        const decoder = new TextDecoder();
        let buffered = "";
        for await (const chunk of response.body!) {
          buffered += decoder.decode(chunk, { stream: true });
          for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
            seen.push(JSON.parse(buffered.slice(0, at)));
            buffered = buffered.slice(at + 1);
          }
        }
      },
    );
    follow.catch(() => {});
    await waitUntil(() => seen.length === 3, 5_000, "the replay");
    await waitUntil(() => server.view.followers() === 1, 5_000, "the follower");
    await client.complete("early");
    await waitUntil(() => seen.length === 4, 5_000, "the live event");
    abort.abort();
    await waitUntil(() => server.view.followers() === 0, 5_000, "the follower to be dropped");
    await client.start("later", { timeoutMs: 0 });
    expect(seen.map((e) => [e.seq, e.unit, e.type === "status_changed" ? e.to : e.type])).toEqual([
      [1, "early", "registered"],
      [2, "early", "start_requested"],
      [3, "early", "started"],
      [4, "early", "completed"],
    ]);
    expect(server.view.followers()).toBe(0);
  });

  test("a bad event number is refused", async () => {
    await using server = await testServer();
    const response = await fetch("http://unitsync/v1/events?after=-1", { unix: server.socketPath });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 400,
      body: { error: { code: "bad_request", message: `"after" must be an event number, 0 or more` } },
    });
  });
});

describe("waiting progress", () => {
  test("a waiting start hears what it waits for at once and then every progress_ms, with a did-you-mean", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.start("git-clone", { timeoutMs: 0 });
    await client.want("deps", ["git-clone"]);
    await client.want("claude", ["gti-clone", "deps"]);
    const lines: Array<WaitingLine | ProgressLine> = [];
    const started = client.start("claude", { timeoutMs: 0, progressMs: 50, onWaiting: (line) => void lines.push(line) });
    await waitUntil(() => lines.length >= 3, 5_000, "two progress lines");
    await client.start("gti-clone", { timeoutMs: 0 });
    await client.complete("gti-clone");
    await client.complete("git-clone");
    await client.start("deps", { timeoutMs: 0 });
    await client.complete("deps");
    await started;
    const details: WaitDetail[] = [
      { depends_on: "deps", requires: "success", current_status: "pending", waiting_for: ["git-clone"] },
      { depends_on: "gti-clone", requires: "success", current_status: "not registered", did_you_mean: "git-clone" },
    ];
    expect(lines.slice(0, 3)).toEqual([
      { type: "waiting", unsatisfied: ["deps", "gti-clone"], details },
      { type: "progress", unsatisfied: ["deps", "gti-clone"], details, waited_ms: expect.any(Number) },
      { type: "progress", unsatisfied: ["deps", "gti-clone"], details, waited_ms: expect.any(Number) },
    ]);
    const waited = lines.slice(1).map((line) => (line as ProgressLine).waited_ms);
    expect(waited.every((ms, i) => ms >= 40 && (i === 0 || ms > waited[i - 1]!))).toBe(true);
    expect(server.view.waitingStarts().length).toBe(0);
  });

  test("progress_ms 0 sends no progress lines; a bad value is refused", async () => {
    await using server = await testServer();
    const response = await fetch("http://unitsync/v1/units/a/start", {
      method: "POST",
      unix: server.socketPath,
      body: JSON.stringify({ progress_ms: "often" }),
    });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 400,
      body: { error: { code: "bad_request", message: `"progress_ms" must be a whole number of milliseconds, 0 or more` } },
    });
  });
});

describe("graph and timeline routes", () => {
  test("the graph names every unit, dependency-only names included, and every edge", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("claude", ["git-clone", "gti-clone"]);
    await client.want("claude", ["db"], "started");
    await client.start("git-clone", { timeoutMs: 0 });
    await client.complete("git-clone");
    expect(await client.graph()).toEqual({
      units: [
        { unit_name: "claude", status: "pending" },
        { unit_name: "git-clone", status: "completed" },
        { unit_name: "gti-clone", status: "not registered" },
        { unit_name: "db", status: "not registered" },
      ],
      edges: [
        { unit_name: "claude", depends_on: "git-clone", requires: "success", is_satisfied: true },
        { unit_name: "claude", depends_on: "gti-clone", requires: "success", is_satisfied: false },
        { unit_name: "claude", depends_on: "db", requires: "started", is_satisfied: false },
      ],
    });
  });

  test("the timeline gives offsets from the first registration and the critical path", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.want("claude", ["git-clone"]);
    const claude = client.start("claude", { timeoutMs: 0 });
    await waitUntil(() => server.view.waitingStarts().length === 1);
    await client.start("git-clone", { timeoutMs: 0 });
    await client.complete("git-clone");
    await claude;
    const timeline = await client.timeline();
    const [clone, waiting] = timeline.critical_path;
    expect({ origin: timeline.origin, path: timeline.critical_path.map((u) => u.unit_name), units: timeline.units.length }).toEqual({
      origin: TIME,
      path: ["git-clone", "claude"],
      units: 2,
    });
    expect(waiting!.started_ms).toBeGreaterThanOrEqual(clone!.ended_ms!);
    expect(waiting!.wait_ms).toBeCloseTo(waiting!.started_ms! - waiting!.start_requested_ms!, 2);
    expect({ inProgress: waiting!.in_progress, end: timeline.end_ms }).toEqual({ inProgress: true, end: timeline.now_ms });
  });
});
