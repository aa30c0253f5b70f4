// Real start-up scripts in bash, run in parallel against a real server: the order they
// run in comes only from unitsync.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { withoutTimes } from "../helpers.ts";
import { logLines, ok, rootOutput, serve, unitScript, waitedOutput, type Child } from "./_bash.ts";

describe("the issue's example", () => {
  test("claude waits for git-clone, which runs at the same time", async () => {
    await using served = await serve();
    await using claude = served.bash(`
unitsync want claude git-clone
unitsync start claude
echo "running claude" >> log
unitsync complete claude`);
    await using git = served.bash(`
unitsync start git-clone
sleep 0.3 # stand-in for the clone
echo "cloned" >> log
unitsync complete git-clone`);

    expect({ claude: await claude.result, git: await git.result, log: await logLines(join(served.dir, "log")) }).toEqual({
      claude: ok(waitedOutput("claude", ["git-clone"])),
      git: ok(rootOutput("git-clone")),
      log: ["cloned", "running claude"],
    });
  });
});

describe("dependency graphs", () => {
  test("a diamond: a waits on b and c, which both wait on d and then run side by side", async () => {
    await using served = await serve();
    // Dependents first, each seen waiting before the next script starts, so every one waits.
    await using a = served.bash(unitScript("a", ["b", "c"]));
    await a.waitForStdout("is waiting");
    await using b = served.bash(unitScript("b", ["d"], "sleep 0.2"));
    await using c = served.bash(unitScript("c", ["d"], "sleep 0.2"));
    await Promise.all([b.waitForStdout("is waiting"), c.waitForStdout("is waiting")]);
    await using d = served.bash(unitScript("d"));

    const results = {
      a: await a.result,
      b: await b.result,
      c: await c.result,
      d: await d.result,
    };
    const log = await logLines(join(served.dir, "log"));
    expect(results).toEqual({
      a: ok(waitedOutput("a", ["b", "c"])),
      b: ok(waitedOutput("b", ["d"])),
      c: ok(waitedOutput("c", ["d"])),
      d: ok(rootOutput("d")),
    });
    // b and c are released together by d: both start before either is done.
    expect({
      first: log.slice(0, 2),
      middle: log.slice(2, 6).sort(),
      middleStartsFirst: log.slice(2, 4).sort(),
      last: log.slice(6),
    }).toEqual({
      first: ["start d", "done d"],
      middle: ["done b", "done c", "start b", "start c"],
      middleStartsFirst: ["start b", "start c"],
      last: ["start a", "done a"],
    });
    expect(await served.run("list")).toEqual(
      ok(
        [
          "UNIT  STATUS     READY  ",
          "a     completed  true   ",
          "b     completed  true   ",
          "c     completed  true   ",
          "d     completed  true   ",
          "",
        ].join("\n"),
      ),
    );
  });

  test("a chain of five units runs in dependency order", async () => {
    await using served = await serve();
    const units = ["u1", "u2", "u3", "u4", "u5"];
    await using scripts = new AsyncDisposableStack();
    const children: Child[] = [];
    // u1 needs u2, which needs u3, ... u5 needs nothing; started from u1 so each one waits.
    for (const [index, unit] of units.entries()) {
      const next = units[index + 1];
      const child = scripts.use(served.bash(unitScript(unit, next ? [next] : [])));
      children.push(child);
      if (next) await child.waitForStdout("is waiting");
    }

    const results = await Promise.all(children.map((child) => child.result));
    expect(results).toEqual(
      units.map((unit, index) => {
        const next = units[index + 1];
        return ok(next ? waitedOutput(unit, [next]) : rootOutput(unit));
      }),
    );
    expect(await logLines(join(served.dir, "log"))).toEqual(
      units.toReversed().flatMap((unit) => [`start ${unit}`, `done ${unit}`]),
    );
    expect(withoutTimes(JSON.parse((await served.run("list", "-o", "json")).stdout))).toEqual(
      units.map((unit) => ({ unit_name: unit, status: "completed", is_ready: true })),
    );
  });
});

describe("many waiters", () => {
  test("50 scripts waiting on one dependency are all released by one complete", async () => {
    await using served = await serve();
    await using scripts = new AsyncDisposableStack();
    const names = Array.from({ length: 50 }, (_, i) => `waiter-${String(i).padStart(2, "0")}`);
    const waiters = names.map((name) => scripts.use(served.bash(unitScript(name, ["shared-dep"]))));
    await Promise.all(waiters.map((waiter) => waiter.waitForStdout("is waiting")));

    expect(await served.run("start", "shared-dep")).toEqual(ok(`Unit "shared-dep" started with no dependencies\n`));
    expect(await served.run("complete", "shared-dep")).toEqual(ok("Success\n"));

    expect(await Promise.all(waiters.map((waiter) => waiter.result))).toEqual(
      names.map((name) => ok(waitedOutput(name, ["shared-dep"]))),
    );
    const log = await logLines(join(served.dir, "log"));
    expect(log.toSorted()).toEqual(names.flatMap((name) => [`done ${name}`, `start ${name}`]).toSorted());
    const list = JSON.parse((await served.run("list", "-o", "json")).stdout) as { status: string }[];
    expect({ units: list.length, completed: list.filter((u) => u.status === "completed").length }).toEqual({
      units: 51,
      completed: 51,
    });
  });
});
