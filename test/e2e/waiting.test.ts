// A waiting `start` as the server sees it: a client that dies while waiting is dropped
// without starting its unit, and a quiet wait is held open for as long as asked.
import { describe, expect, test } from "bun:test";
import { ok, serve } from "./_bash.ts";

const waiting = (unit: string, deps: string) => `Unit "${unit}" is waiting for dependencies to be satisfied: [${deps}]\n`;
const statusText = (unit: string, status: string, ready: boolean, dependencyRow: string) =>
  [
    `Unit: ${unit}`,
    `Status: ${status}`,
    `Ready: ${ready}`,
    "",
    "Dependencies:",
    "DEPENDS ON  REQUIRED STATUS  CURRENT STATUS  SATISFIED  ",
    dependencyRow,
    "",
  ].join("\n");

describe("a client killed while waiting in start", () => {
  test("is dropped: its unit stays pending even when the dependency then completes", async () => {
    await using served = await serve();
    await served.run("want", "w", "dep");
    await using start = served.spawn("start", "w");
    await start.waitForStdout("is waiting");
    start.kill("SIGKILL");
    const killed = await start.result;

    expect({ stdout: killed.stdout, status: await served.run("status", "w") }).toEqual({
      stdout: waiting("w", "dep"),
      status: ok(statusText("w", "pending", false, "dep         completed        not registered  false      ")),
    });
    await served.run("start", "dep");
    await served.run("complete", "dep");
    expect({
      status: await served.run("status", "w"),
      restart: await served.run("start", "w"),
    }).toEqual({
      status: ok(statusText("w", "pending", true, "dep         completed        completed       true       ")),
      restart: ok(`Unit "w" started immediately, dependencies already satisfied: [dep]\n`),
    });
  });

  test("a new start of the same unit can wait, and is released when the dependency completes", async () => {
    await using served = await serve();
    await served.run("want", "w", "dep");
    await using first = served.spawn("start", "w");
    await first.waitForStdout("is waiting");
    first.kill("SIGKILL");
    await first.result;

    await using second = served.spawn("start", "w");
    await second.waitForStdout("is waiting");
    expect(await served.run("status", "w")).toEqual(
      ok(statusText("w", "pending", false, "dep         completed        not registered  false      ")),
    );
    await served.run("start", "dep");
    await served.run("complete", "dep");
    expect(await second.result).toEqual(ok(`${waiting("w", "dep")}Unit "w" finished waiting for dependencies: [dep]\n`));
  });
});

// SLOW, about 13 s. Bun.serve closes a connection idle for 10 s by default, but checks on
// a 4 s tick, so the close lands 8 to 12 s after the last byte; 13 s of quiet is past it.
// Bun's fetch would give up after 5 min; a waiting start must outlive both kinds of quiet.
const QUIET_MS = 13_000;

describe("a long quiet wait", () => {
  test(
    "start --timeout 0 is still waiting after 13 s of quiet and is released by complete (slow)",
    async () => {
      await using served = await serve();
      await served.run("want", "w", "dep");
      await using start = served.spawn("start", "w", "--timeout", "0");
      await start.waitForStdout("is waiting");
      await served.run("start", "dep");
      // The quiet period is what is under test; the race ends it early if the start gives up.
      await Promise.race([Bun.sleep(QUIET_MS), start.result]);
      expect({ stillWaiting: start.running, stdout: start.stdout, stderr: start.stderr }).toEqual({
        stillWaiting: true,
        stdout: waiting("w", "dep"),
        stderr: "",
      });
      await served.run("complete", "dep");
      expect(await start.result).toEqual(ok(`${waiting("w", "dep")}Unit "w" finished waiting for dependencies: [dep]\n`));
    },
    QUIET_MS + 10_000,
  );
});
