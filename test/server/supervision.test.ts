// POST /v1/supervision, what `up` reads of its server: answered at once, or held until the
// state changes past a version; bad questions refused in one line, the server unharmed.
import { describe, expect, test } from "bun:test";
import { UnitsyncClient } from "../../src/client/index.ts";
import { UnitsyncError } from "../../src/protocol/index.ts";
import { testServer, waitUntil } from "../helpers.ts";

describe("POST /v1/supervision", () => {
  test("says who waits, for what, and who started what; with the timeline when asked", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.start("clone", { timeoutMs: 0, asker: { pid: 11, script: "clone.sh" } });
    await client.want("deps", ["clone"]);
    const waiting = client.start("deps", { timeoutMs: 0, asker: { pid: 12, script: "deps.sh" } });
    await waitUntil(() => server.view.waitingStarts().length === 1, 5_000, "deps to wait");
    const answer = await client.supervision({ details: true });
    expect(answer.waiting).toEqual([
      { unit: "deps", pid: 12, script: "deps.sh", details: [{ depends_on: "clone", requires: "success", current_status: "started" }] },
    ]);
    expect(answer.starters).toEqual([
      { unit: "clone", script: "clone.sh" },
      { unit: "deps", script: "deps.sh" },
    ]);
    expect(answer.timeline).toBeUndefined();
    expect(answer.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

    // The timeline, with the units a stopped script started ending when it was stopped.
    const stoppedAt = server.view.now();
    const withTimeline = await client.supervision({ timeline: { stopped_scripts: [{ script: "clone.sh", at: stoppedAt }] } });
    const clone = withTimeline.timeline!.units.find((unit) => unit.unit_name === "clone")!;
    expect(clone.stopped_ms).toBeGreaterThanOrEqual(0);
    expect(withTimeline.unsatisfied).toEqual([{ unit: "deps", waiting_for: ["clone"] }]);
    await client.complete("clone");
    await waiting;
  });

  test("with after, holds the question until something changes, then answers with a later version", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    const { version } = await client.supervision({});
    let answered = false;
    const held = client.supervision({ after: version }).then((answer) => ((answered = true), answer));
    // Other questions are answered meanwhile; the held one is not.
    expect((await client.supervision({})).version).toBe(version);
    expect(answered).toBe(false);
    await client.want("app", ["db"]);
    const answer = await held;
    expect(answer.version).toBeGreaterThan(version);
  });

  test.each([
    [{ after: "soon" }, `"after" must be a version number from an earlier answer`],
    [{ after: -2 }, `"after" must be a version number from an earlier answer`],
    [{ details: "yes" }, `"details" must be true or false`],
    [{ timeline: 5 }, `"timeline" must be an object whose "stopped_scripts" lists {"script", "at"}`],
    [{ timeline: { stopped_scripts: [{ script: "a.sh" }] } }, `"timeline" must be an object whose "stopped_scripts" lists {"script", "at"}`],
  ])("refuses %j in one line, and goes on serving", async (question, message) => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    const refusal = await client.supervision(question as never).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(UnitsyncError);
    expect((refusal as UnitsyncError).message).toBe(message);
    expect((await client.ping()).version).toBeString();
  });
});
