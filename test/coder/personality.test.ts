// The `coder` personality itself: chosen by the name the binary runs under, a stand-in that
// never pretends to be the rest of Coder's CLI, and unitsync's own commands under Coder's name.
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, linkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../helpers.ts";
import { Child } from "../e2e/_bash.ts";
import { coderLink, failed, lines, ok, serveCoder } from "./_coder.ts";

const STAND_IN =
  'error: this "coder" is unitsync\'s stand-in and answers only "coder exp sync ..."; set UNITSYNC_REAL_CODER to a real coder binary to hand it every other command\n';

describe("the name coder", () => {
  test("a hard link or copy named coder answers as Coder too, and unitsync under its own name does not", async () => {
    const { dir, env } = coderLink();
    const copy = join(dir, "coder");
    try {
      linkSync(BINARY, copy);
    } catch {
      copyFileSync(BINARY, copy); // another file system: a copy
    }
    await using asCoder = new Child([copy, "exp", "sync", "--help"], { env });
    await using asUnitsync = new Child([BINARY, "exp"], { env });
    const [coder, unitsync] = [await asCoder.result, await asUnitsync.result];
    expect({ coder: coder.stdout.split("\n")[1], unitsync: unitsync.exitCode }).toEqual({ coder: "  coder exp sync [flags] <subcommand>", unitsync: 2 });
  });

  test.each([[["version"]], [["exp", "other"]], [[]], [["login", "https://example.com"]]])("coder %j is refused with one line, exit 1", async (args) => {
    const { coder, env } = coderLink();
    await using child = new Child([coder, ...args], { env });
    expect(await child.result).toEqual({ stdout: "", stderr: STAND_IN, exitCode: 1 });
  });

  test("UNITSYNC_REAL_CODER gets every command but exp sync, with its exit code", async () => {
    const { dir, coder, env } = coderLink();
    const real = join(dir, "real-coder");
    writeFileSync(real, '#!/bin/sh\necho "real coder: $*"\nexit 7\n');
    chmodSync(real, 0o755);
    await using child = new Child([coder, "version", "--output", "json"], { env: { ...env, UNITSYNC_REAL_CODER: real } });
    expect(await child.result).toEqual({ stdout: "real coder: version --output json\n", stderr: "", exitCode: 7 });
  });

  test("UNITSYNC_REAL_CODER naming the stand-in itself is refused, not run in a loop", async () => {
    const { coder, env } = coderLink();
    await using child = new Child([coder, "version"], { env: { ...env, UNITSYNC_REAL_CODER: coder } });
    expect(await child.result).toEqual({
      stdout: "",
      stderr: `error: UNITSYNC_REAL_CODER=${coder} is this stand-in itself, not a real coder binary\n`,
      exitCode: 1,
    });
  });

  test("an unknown subcommand or flag: Coder's two lines, exit 1, no stack", async () => {
    await using served = await serveCoder();
    expect([await served.sync("bogus"), await served.sync("list", "--bogus")]).toEqual([
      failed("bogus", 'unknown subcommand "bogus"; the subcommands are ping, want, start, complete, status, list, fail, run, events, graph, timeline, lock, locks'),
      failed("list", "unknown option --bogus"),
    ]);
  });
});

describe("unitsync's own commands under coder exp sync", () => {
  test("fail releases the dependents at once, with unitsync's exit code 3", async () => {
    await using served = await serveCoder();
    await served.seed([["want", "b", "a"]]);
    await using start = served.spawnSync("start", "b");
    await start.waitForStdout("is waiting for dependencies");
    expect(await served.sync("fail", "a", "--reason", "broke")).toEqual(ok('Unit "a" marked failed: broke'));
    const result = await start.result;
    expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({
      exitCode: 1,
      stderr: expect.stringContaining('start unit failed: cannot start unit "b": '),
    });
  });

  test("run wraps a command, completing or failing the unit by its exit status", async () => {
    await using served = await serveCoder();
    const ran = await served.sync("run", "job", "--", "sh", "-c", "echo working; exit 3");
    expect({ ran: { stdout: ran.stdout, exitCode: ran.exitCode }, list: await served.sync("list") }).toEqual({
      ran: { stdout: expect.stringContaining("working\n"), exitCode: 3 },
      // Coder's list has no REASON column: `coder exp sync status` or `unitsync list` tell why.
      list: ok("UNIT  STATUS  READY  ", "job   failed  true   "),
    });
  });

  test("lock runs a command holding a lock on Coder's socket, and locks shows it free afterwards", async () => {
    await using served = await serveCoder();
    const held = await served.sync("lock", "apt", "--", "sh", "-c", "echo installing; exit 4");
    expect({ held, locks: await served.sync("locks") }).toEqual({
      held: { stdout: "installing\n", stderr: "", exitCode: 4 },
      locks: ok("No locks held or waited for"),
    });
  });

  test("complete --when completes once the probe passes", async () => {
    await using served = await serveCoder();
    const ready = join(served.dir, "ready");
    writeFileSync(ready, "");
    await served.seed([["start", "db"]]);
    const completed = await served.sync("complete", "db", "--when", `file:${ready}`);
    expect({ stdout: completed.stdout, exitCode: completed.exitCode, status: (await served.sync("status", "db")).stdout.split("\n")[1] }).toEqual({
      stdout: lines("Success"),
      exitCode: 0,
      status: "Status: completed",
    });
  });

  test("graph, events and timeline read Coder's socket", async () => {
    await using served = await serveCoder();
    await served.seed([["want", "b", "a"], ["start", "a"]]);
    const [graph, events, timeline] = [await served.sync("graph"), await served.sync("events"), await served.sync("timeline")];
    expect({ graph: graph.stdout, events: events.stdout, timeline: timeline.exitCode }).toEqual({
      graph: expect.stringContaining('"a" -> "b";'),
      events: expect.stringContaining('unit "a" started\n'),
      timeline: 0,
    });
  });
});
