// `first` through real bash scripts: every other unit, registered before or after it, waits
// for it; what it needs itself does not; units already running are left alone; its failure
// stops everything waiting for it at once.
import { describe, expect, test } from "bun:test";
import { ok, serve } from "./_bash.ts";

const lines = (...all: string[]) => `${all.join("\n")}\n`;

const script = (unit: string, ...dependencies: string[]) => `
${dependencies.length > 0 ? `unitsync want ${unit} ${dependencies.join(" ")}` : ""}
unitsync start ${unit}
unitsync complete ${unit}`;

describe("unitsync first", () => {
  test("holds back units registered before and after it, and leaves running ones alone", async () => {
    await using served = await serve();
    await served.run("start", "db");
    await using before = served.bash(script("before", "db"));
    await before.waitForStdout("is waiting");
    expect(await served.run("first", "apt-mirror")).toEqual(
      ok('Unit "apt-mirror" runs first: 1 unit waits for it; 1 unit already running was left alone\n'),
    );
    await using after = served.bash(script("after"));
    await after.waitForStdout("is waiting");
    expect(await served.run("complete", "db")).toEqual(ok("Success\n"));
    expect(await served.run("status", "before")).toEqual(
      ok(
        lines(
          "Unit: before",
          "Status: pending",
          "Ready: false",
          "",
          "Dependencies:",
          "DEPENDS ON  REQUIRED STATUS  CURRENT STATUS  SATISFIED  EDGE             ",
          "apt-mirror  completed        pending         false      implicit: first  ",
          "db          completed        completed       true       declared         ",
        ),
      ),
    );
    expect([before.running, after.running]).toEqual([true, true]);
    expect(await served.run("run", "apt-mirror", "--", "true")).toEqual(ok(""));
    expect(await before.result).toEqual(
      ok(
        lines(
          'Unit "before" declared dependencies: [db]',
          'Unit "before" is waiting for dependencies to be satisfied: [db]',
          'Unit "before" is still waiting for dependencies to be satisfied: [apt-mirror, db]',
          'Unit "before" finished waiting for dependencies: [db]',
          "Success",
        ),
      ),
    );
    expect(await after.result).toEqual(
      ok(
        lines(
          'Unit "after" is waiting for dependencies to be satisfied: [apt-mirror]',
          'Unit "after" finished waiting for dependencies: [apt-mirror]',
          "Success",
        ),
      ),
    );
    expect(JSON.parse((await served.run("status", "db", "-o", "json")).stdout).dependencies).toEqual([]);
  });

  test("what it depends on, even declared later, does not wait for it", async () => {
    await using served = await serve();
    await served.run("first", "apt-mirror");
    await using network = served.bash(script("network"));
    await network.waitForStdout("is waiting");
    expect(await served.run("want", "apt-mirror", "network")).toEqual(ok('Unit "apt-mirror" declared dependencies: [network]\n'));
    expect((await network.result).exitCode).toBe(0);
    const events = (await served.run("events")).stdout;
    expect(events).toContain('unit "network" no longer waits for [apt-mirror]: "apt-mirror" needs it before everything else\n');
  });

  test("its failure stops every unit waiting for it at once, and those registered later", async () => {
    await using served = await serve();
    await served.run("first", "apt-mirror");
    await using app = served.bash(script("app"));
    await app.waitForStdout("is waiting");
    expect(await served.run("fail", "apt-mirror", "--reason", "mirror unreachable")).toEqual(
      ok('Unit "apt-mirror" marked failed: mirror unreachable\n'),
    );
    expect(await app.result).toEqual({
      stdout: 'Unit "app" is waiting for dependencies to be satisfied: [apt-mirror]\n',
      stderr: 'error: app: dependency "apt-mirror" failed: mirror unreachable\n',
      exitCode: 3,
    });
    expect(await served.run("start", "late")).toEqual({
      stdout: "",
      stderr: 'error: late: dependency "apt-mirror" failed: mirror unreachable\n',
      exitCode: 3,
    });
  });

  test("list, events and graph show it", async () => {
    await using served = await serve();
    await served.run("want", "app", "db");
    await served.run("first", "apt-mirror");
    expect(await served.run("list")).toEqual(
      ok(lines("UNIT        STATUS   READY  KIND   ", "app         pending  false  unit   ", "apt-mirror  pending  true   first  ")),
    );
    const events = (await served.run("events")).stdout.split("\n").map((line) => line.slice(14));
    expect(events).toContain('unit "apt-mirror" runs first: 1 unit waits for it');
    const dot = (await served.run("graph")).stdout;
    expect(dot).toContain('"apt-mirror" -> "app" [label="first", style=dotted];');
    expect(dot).toContain("peripheries=2];");
    expect((await served.run("graph", "-o", "mermaid")).stdout).toContain("u_apt_mirror -. first .-> u_app");
  });

  test.each([
    [[], "error: exactly one unit name is required; usage: unitsync first <unit>"],
    [["a", "b"], "error: exactly one unit name is required; usage: unitsync first <unit>"],
  ])("unitsync first %j is a usage error", async (args, message) => {
    await using served = await serve();
    expect(await served.run("first", ...args)).toEqual({ stdout: "", stderr: `${message}\n`, exitCode: 2 });
  });
});
