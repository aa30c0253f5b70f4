// Targets through real bash scripts: a module declares its target and members, a dependent
// names only the target, and the target completes or fails with its members.
import { describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, tempDir, testEnv } from "../helpers.ts";
import { Child, ok, serve } from "./_bash.ts";

const lines = (...all: string[]) => `${all.join("\n")}\n`;

// The module's own scripts: the target, then one script per member.
const MODULE = `unitsync target git-clone git-clone/fetch git-clone/checkout`;
const CLAUDE = `
unitsync want claude git-clone
unitsync start claude
echo "claude ran" >> log
unitsync complete claude`;

describe("a module's target", () => {
  test("is released by its last member, and only then releases its dependent", async () => {
    await using served = await serve();
    expect(await served.run(...MODULE.split(" ").slice(1))).toEqual(
      ok('Target "git-clone" gathers members: [git-clone/fetch, git-clone/checkout]\n'),
    );
    await using claude = served.bash(CLAUDE);
    await claude.waitForStdout("is waiting");
    expect(await served.run("run", "git-clone/fetch", "--", "true")).toEqual(ok(""));
    const between = await served.run("status", "git-clone", "-o", "json");
    expect(JSON.parse(between.stdout)).toMatchObject({ status: "pending", target: true });
    expect(claude.running).toBe(true);
    expect(await served.run("run", "git-clone/checkout", "--", "true")).toEqual(ok(""));
    expect(await claude.result).toEqual(
      ok(
        lines(
          'Unit "claude" declared dependencies: [git-clone]',
          'Unit "claude" is waiting for dependencies to be satisfied: [git-clone]',
          'Unit "claude" finished waiting for dependencies: [git-clone]',
          "Success",
        ),
      ),
    );
    expect(await served.run("status", "git-clone")).toEqual(
      ok(
        lines(
          "Unit: git-clone",
          "Status: completed",
          "Ready: true",
          "Kind: target",
          "",
          "Members:",
          "DEPENDS ON          REQUIRED STATUS  CURRENT STATUS  SATISFIED  ",
          "git-clone/checkout  completed        completed       true       ",
          "git-clone/fetch     completed        completed       true       ",
        ),
      ),
    );
    expect(await served.run("list")).toEqual(
      ok(
        lines(
          "UNIT                STATUS     READY  KIND    ",
          "claude              completed  true   unit    ",
          "git-clone           completed  true   target  ",
          "git-clone/checkout  completed  true   unit    ",
          "git-clone/fetch     completed  true   unit    ",
        ),
      ),
    );
  });

  test("fails with the member's reason, and its waiting dependent exits 3 at once", async () => {
    await using served = await serve();
    await served.run("target", "git-clone", "git-clone/fetch", "git-clone/checkout");
    await using claude = served.bash(CLAUDE);
    await claude.waitForStdout("is waiting");
    const fetch = await served.run("run", "git-clone/fetch", "--", "bash", "-c", "exit 128");
    expect(fetch.exitCode).toBe(128);
    const reason = 'dependency "git-clone/fetch" failed: exit code 128';
    expect((await claude.result).stderr).toBe(`error: claude: dependency "git-clone" failed: ${reason}\n`);
    expect((await claude.result).exitCode).toBe(3);
    const status = await served.run("status", "git-clone");
    expect(status.stdout).toContain(`Status: failed\nReady: false\nKind: target\nReason: ${reason}\n`);
  });

  test("module on module: a target of targets completes when the last leaf does", async () => {
    await using served = await serve();
    await served.run("target", "workspace", "git-clone", "tools");
    await served.run("target", "git-clone", "fetch");
    await served.run("target", "tools", "node", "python");
    await using ide = served.bash("unitsync want ide workspace\nunitsync start ide");
    await ide.waitForStdout("is waiting");
    for (const unit of ["fetch", "node"]) expect((await served.run("run", unit, "--", "true")).exitCode).toBe(0);
    expect(ide.running).toBe(true);
    expect((await served.run("run", "python", "--", "true")).exitCode).toBe(0);
    expect((await ide.result).exitCode).toBe(0);
    const list = JSON.parse((await served.run("list", "-o", "json")).stdout) as Array<{ unit_name: string; status: string }>;
    expect(list.filter((u) => ["workspace", "git-clone", "tools"].includes(u.unit_name)).map((u) => u.status)).toEqual([
      "completed",
      "completed",
      "completed",
    ]);
  });

  test("a member added before the target completes holds it open", async () => {
    await using served = await serve();
    await served.run("target", "git-clone", "fetch");
    expect(await served.run("target", "git-clone", "post-clone-hook")).toEqual(
      ok("Target \"git-clone\" gathers members: [post-clone-hook] (2 in all)\n"),
    );
    await served.run("run", "fetch", "--", "true");
    expect(JSON.parse((await served.run("status", "git-clone", "-o", "json")).stdout).status).toBe("pending");
    await served.run("run", "post-clone-hook", "--", "true");
    expect(JSON.parse((await served.run("status", "git-clone", "-o", "json")).stdout).status).toBe("completed");
  });

  test("with no members it is pending, not complete", async () => {
    await using served = await serve();
    expect(await served.run("target", "module")).toEqual(ok('Target "module" has no members yet\n'));
    expect(JSON.parse((await served.run("status", "module", "-o", "json")).stdout)).toMatchObject({ status: "pending", target: true });
  });

  test.each([
    [["start", "t"], 2, 'error: "t" is a target and cannot be started: it completes by itself once all its members have completed'],
    [["complete", "t"], 2, 'error: "t" is a target and cannot be completed by hand: it completes by itself once all its members have completed'],
    [["fail", "t"], 2, 'error: "t" is a target and cannot be failed by hand: it fails when one of its members fails; fail that member'],
    [["run", "t", "--", "true"], 2, 'error: "t" is a target and cannot be started: it completes by itself once all its members have completed'],
    [["want", "t", "x"], 2, 'error: "t" is a target and cannot wait for other units; add members with "unitsync target t MEMBER..."'],
    [["target", "done", "late"], 1, 'error: declare target failed: target "done" already completed, so it cannot gather [late]; add members before their target completes'],
    [["target", "plain", "m"], 1, 'error: declare target failed: unit "plain" is already registered as an ordinary unit, so it cannot become a target; declare a target before any script registers its name, or choose another name'],
    [["target", "m", "t"], 1, "error: declare target failed: adding member (m -> t): cycle detected: m -> t -> m"],
    [["target"], 2, "error: a target name is required, then its members; usage: unitsync target <target> [member...]"],
  ])("unitsync %j is refused in one line, exit %d", async (args, exitCode, message) => {
    await using served = await serve();
    await served.run("target", "t", "m");
    await served.run("target", "done", "finished");
    await served.run("run", "finished", "--", "true");
    await served.run("start", "plain");
    expect(await served.run(...args)).toEqual({ stdout: "", stderr: `${message}\n`, exitCode });
  });

  test("events, graph and timeline show the target", async () => {
    await using served = await serve();
    await served.run("target", "git-clone", "fetch");
    await served.run("run", "fetch", "--", "true");
    const events = (await served.run("events")).stdout.split("\n").map((line) => line.slice(14));
    expect(events.slice(0, 2)).toEqual(['unit "git-clone" registered as a target', 'target "git-clone" gathers [fetch]']);
    expect(events).toContain('unit "git-clone" completed');
    const dot = (await served.run("graph")).stdout;
    expect(dot).toContain('"git-clone" [label="git-clone\\ntarget completed", fillcolor=');
    expect(dot).toContain("shape=folder];");
    expect((await served.run("graph", "-o", "mermaid")).stdout).toContain('u_git_clone["git-clone<br/>target completed"]');
    const timeline = JSON.parse((await served.run("timeline", "-o", "json")).stdout) as { units: Array<{ unit_name: string; target?: boolean; wait_ms?: number }> };
    expect(timeline.units.find((u) => u.unit_name === "git-clone")).toMatchObject({ target: true, wait_ms: expect.any(Number) });
  });

  test("a waiting start says what the target still waits for", async () => {
    await using served = await serve();
    await served.run("target", "git-clone", "git-clone/fetch");
    await served.run("target", "tools");
    await served.run("want", "claude", "git-clone", "tools");
    expect(await served.run("start", "claude", "--report-every", "1m", "--timeout", "100ms")).toEqual({
      stdout: 'Unit "claude" is waiting for dependencies to be satisfied: [git-clone, tools]\n',
      stderr: [
        'Unit "claude" waits for 2 dependencies:',
        "  git-clone  a target, waiting for members [git-clone/fetch]",
        "  tools      a target with no members yet",
        "error: timeout waiting for dependencies of unit 'claude'",
        "",
      ].join("\n"),
      exitCode: 4,
    });
  });

  test("up finds a deadlock on a target whose member no script runs, and names it", async () => {
    using work = tempDir();
    const scripts = {
      "10-module.sh": "unitsync target git-clone git-clone/fetch",
      "20-claude.sh": "unitsync want claude git-clone\nunitsync start claude",
    };
    for (const [name, body] of Object.entries(scripts)) {
      writeFileSync(join(work.path, name), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`);
      chmodSync(join(work.path, name), 0o755);
    }
    await using up = new Child([BINARY, "up", work.path], { env: testEnv({ PATH: `${join(BINARY, "..")}:${process.env.PATH}` }) });
    const result = await up.result;
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('20-claude.sh: "claude" waits for "git-clone", a target whose members [git-clone/fetch] are not done\n');
  });
});
