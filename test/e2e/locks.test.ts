// `unitsync lock NAME -- CMD` and `run --lock`: one holder at a time, first come first
// served, woken by push, released when the holder's client exits or is killed.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LockEntry, LockEventEntry, LoggedEvent, TimelineResponse } from "../../src/protocol/index.ts";
import { BINARY, tempDir, testEnv, waitUntil } from "../helpers.ts";
import { Child, logLines, serve, type Served } from "./_bash.ts";

async function locks(served: Served): Promise<LockEntry[]> {
  return JSON.parse((await served.run("locks", "-o", "json")).stdout);
}

async function lockEvents(served: Served): Promise<LockEventEntry[]> {
  const events: LoggedEvent[] = JSON.parse((await served.run("events", "-o", "json")).stdout);
  return events.filter((event): event is LockEventEntry => "lock" in event);
}

/** Waits until `lock` has `count` waiters queued. */
async function queued(served: Served, count: number, lock = "apt"): Promise<LockEntry> {
  let entry: LockEntry | undefined;
  await waitUntil(async () => {
    entry = (await locks(served)).find((l) => l.lock === lock);
    return entry?.waiters.length === count;
  }, 20_000, `${count} waiters on ${lock}`);
  return entry!;
}

/** A command that records entering and leaving the lock, by the pid of the `unitsync lock` running it. */
const CRITICAL = `bash -c 'echo "enter $PPID" >> log; sleep 0.01; echo "leave $PPID" >> log'`;

/** The log's enter/leave pairs, checked to never overlap: returns the pids in the order they held the lock. */
function holdersInOrder(lines: string[]): number[] {
  const order: number[] = [];
  for (let i = 0; i < lines.length; i += 2) {
    const [enter, leave] = [lines[i]!, lines[i + 1]];
    const pid = enter.split(" ")[1]!;
    expect([enter, leave]).toEqual([`enter ${pid}`, `leave ${pid}`]);
    order.push(Number(pid));
  }
  return order;
}

describe("unitsync lock", () => {
  test("20 scripts taking one lock at once run strictly one at a time, in the order they asked", async () => {
    await using served = await serve();
    const scripts = Array.from({ length: 20 }, () => served.bash(`unitsync lock apt -- ${CRITICAL}`));
    const results = await Promise.all(scripts.map((script) => script.result));
    const holders = holdersInOrder(await logLines(join(served.dir, "log")));
    const events = await lockEvents(served);
    // Each script arrives with its first lock event: waiting, or acquired at once when the lock was free
    // (under load a script may come after a holder let go and before the next one asked).
    const arrived = [...new Set(events.filter((e) => e.type === "lock_waiting" || e.type === "lock_acquired").map((e) => e.pid!))];
    expect({
      exitCodes: results.map((r) => r.exitCode),
      held: holders.length,
      // The server's arrival order (the first holder, then each waiter as it queued) is the order they held it.
      order: holders,
      acquired: events.filter((e) => e.type === "lock_acquired").map((e) => e.pid!),
      left: await locks(served),
    }).toEqual({ exitCodes: Array(20).fill(0), held: 20, order: arrived, acquired: arrived, left: [] });
  });

  test("waiters queued one after another hold it in exactly that order, each woken as the last one lets go", async () => {
    await using served = await serve();
    await using holder = served.bash(`unitsync lock apt -- bash -c 'echo "enter $PPID" >> log; echo held; read line < gate; echo "leave $PPID" >> log'`);
    Bun.spawnSync(["mkfifo", join(served.dir, "gate")]);
    await holder.waitForStdout("held");
    const waiters: Child[] = [];
    for (let i = 0; i < 5; i++) {
      waiters.push(served.bash(`unitsync lock apt -- ${CRITICAL}`));
      await queued(served, i + 1);
    }
    const queue = (await queued(served, 5)).waiters.map((w) => w.pid!);
    expect(waiters[1]!.stderr).toMatch(/^Waiting for lock "apt", held by pid \d+; 2 in line\n$/);
    await using open = served.bash("echo go > gate");
    await Promise.all(waiters.map((w) => w.result));
    const holders = holdersInOrder(await logLines(join(served.dir, "log")));
    expect(holders.slice(1)).toEqual(queue);
    expect((await holder.result).exitCode).toBe(0);
  });

  test("a holder killed with SIGKILL releases the lock at once, and a killed waiter leaves the queue", async () => {
    await using served = await serve();
    await using holder = served.bash(`unitsync lock apt -- bash -c 'echo $$ > command.pid; echo held; exec sleep 60'`);
    await holder.waitForStdout("held");
    await using doomed = served.spawn("lock", "apt", "--", "echo", "doomed ran");
    await queued(served, 1);
    await using next = served.spawn("lock", "apt", "--", "echo", "next ran");
    const { holder: held, waiters } = await queued(served, 2);
    process.kill(waiters[0]!.pid!, "SIGKILL");
    await queued(served, 1);
    const killedAt = performance.now();
    process.kill(held!.pid!, "SIGKILL");
    const result = await next.result;
    const handOff = performance.now() - killedAt;
    process.kill(Number((await Bun.file(join(served.dir, "command.pid")).text()).trim()), "SIGKILL");
    const events = await lockEvents(served);
    expect({
      result,
      // Well below the 60 s the command would have held it; the process start of the next holder's command is most of it.
      prompt: handOff < 5_000,
      acquired: events.filter((e) => e.type === "lock_acquired").map((e) => e.pid),
      doomed: (await doomed.result).stdout,
    }).toEqual({
      result: { stdout: "next ran\n", stderr: expect.stringMatching(/^Waiting for lock "apt", held by pid \d+; 2 in line\n$/), exitCode: 0 },
      prompt: true,
      acquired: [held!.pid!, next.pid],
      doomed: "",
    });
  });

  test("a waiter times out with exit 4 and one line naming the holder; the holder is untouched", async () => {
    await using served = await serve();
    await using holder = served.bash(`unitsync lock apt -- bash -c 'echo held; read line < gate'`);
    Bun.spawnSync(["mkfifo", join(served.dir, "gate")]);
    await holder.waitForStdout("held");
    const pid = (await locks(served))[0]!.holder!.pid!;
    const result = await served.run("lock", "apt", "--timeout", "200ms", "--", "echo", "never");
    expect(result).toEqual({
      stdout: "",
      stderr: `Waiting for lock "apt", held by pid ${pid}; next in line\nerror: timeout waiting for lock "apt", held by pid ${pid}\n`,
      exitCode: 4,
    });
    expect((await locks(served)).map((l) => [l.holder?.pid, l.waiters.length])).toEqual([[pid, 0]]);
    expect((await lockEvents(served)).map((e) => e.type)).toEqual(["lock_acquired", "lock_waiting", "lock_left"]);
    expect((await served.run("events")).stdout).toMatch(/ lock "apt" no longer wanted by pid \d+, after waiting 2\d\dms\n$/);
    await using open = served.bash("echo go > gate");
    expect((await holder.result).exitCode).toBe(0);
  });

  test.each(["SIGTERM", "SIGKILL"] as const)(
    "a server stopped with %s: the waiter exits 5 without running its command, the holder's command runs on and gives lock its status",
    async (signal) => {
      await using served = await serve();
      await using holder = served.bash(`unitsync lock apt -- bash -c 'echo held; read line < gate; echo finished; exit 3'`);
      Bun.spawnSync(["mkfifo", join(served.dir, "gate")]);
      await holder.waitForStdout("held");
      await using waiter = served.spawn("lock", "apt", "--", "echo", "never");
      await queued(served, 1);
      served.server.kill(signal);
      const waited = await waiter.result;
      await using open = served.bash("echo go > gate");
      expect([waited.exitCode, waited.stdout, waited.stderr.split("\n").at(-2), await holder.result]).toEqual([
        5,
        "",
        expect.stringMatching(/^error: the unitsync server on .* (shut down|went away)$/),
        { stdout: "held\nfinished\n", stderr: "", exitCode: 3 },
      ]);
    },
  );

  test("the command's exit status is lock's, and the lock is free after a failure", async () => {
    await using served = await serve();
    const failed = await served.run("lock", "apt", "--", "bash", "-c", "echo out; echo err >&2; exit 7");
    const again = await served.run("lock", "apt", "--timeout", "5s", "--", "true");
    expect([failed, again.exitCode, await locks(served)]).toEqual([{ stdout: "out\n", stderr: "err\n", exitCode: 7 }, 0, []]);
  });

  test.each([
    [["lock"], 2, "error: exactly one lock name is required before --; usage: unitsync lock <name> [--timeout 5m] -- CMD [ARGS...]\n"],
    [["lock", "apt"], 2, "error: the command to run goes after --; usage: unitsync lock <name> [--timeout 5m] -- CMD [ARGS...]\n"],
    [["lock", "apt", "--"], 2, "error: no command after --; usage: unitsync lock <name> [--timeout 5m] -- CMD [ARGS...]\n"],
    [["lock", "apt", "--timeout", "soon", "--", "true"], 2, expect.stringMatching(/^error: invalid duration "soon" for --timeout: .*; usage: unitsync lock <name> \[--timeout 5m\] -- CMD \[ARGS\.\.\.\]\n$/)],
    [["lock", "a\tb", "--", "true"], 2, 'error: lock name "a\\tb" contains a control character\n'],
    [["lock", "apt", "--", "no-such-command-here"], 127, "error: command not found: no-such-command-here\n"],
    [["locks", "extra"], 2, "error: locks takes no arguments; usage: unitsync locks [-o table|json]\n"],
  ] as [string[], number, string][])("bad input: %j exits %d with one line", async (args, exitCode, stderr) => {
    await using served = await serve();
    expect(await served.run(...args)).toEqual({ stdout: "", stderr, exitCode });
    expect(await locks(served)).toEqual([]);
  });

  test("locks shows each holder, for how long, and its waiters in order; events tell the story", async () => {
    await using served = await serve();
    await using holder = served.bash(`UNITSYNC_SCRIPT=10-apt.sh unitsync lock apt -- bash -c 'echo held; read line < gate'`);
    Bun.spawnSync(["mkfifo", join(served.dir, "gate")]);
    await holder.waitForStdout("held");
    await using waiter = served.bash("UNITSYNC_SCRIPT=20-pip.sh unitsync lock apt -- true");
    await queued(served, 1);
    const table = (await served.run("locks")).stdout.split("\n");
    expect(table[0]).toMatch(/^LOCK +HOLDER +HELD +WAITING \(IN ORDER, HOW LONG\) *$/);
    expect(table[1]).toMatch(/^apt +10-apt\.sh \(pid \d+\) +\d+ms +20-pip\.sh \(pid \d+\) \d+ms *$/);
    await using open = served.bash("echo go > gate");
    await waiter.result;
    const text = (await served.run("events")).stdout.split("\n").filter((line) => line.includes("lock"));
    expect(text.map((line) => line.replace(/^\S+ +/, "").replace(/\d+/g, "N"))).toEqual([
      'lock "apt" acquired by N-apt.sh (pid N)',
      'lock "apt" wanted by N-pip.sh (pid N), waiting: held by N-apt.sh (pid N)',
      expect.stringMatching(/^lock "apt" released by N-apt\.sh \(pid N\) after N(\.N)?m?s$/),
      expect.stringMatching(/^lock "apt" acquired by N-pip\.sh \(pid N\) after waiting N(\.N)?m?s$/),
      expect.stringMatching(/^lock "apt" released by N-pip\.sh \(pid N\) after N(\.N)?m?s$/),
    ]);
    expect((await served.run("locks")).stdout).toBe("No locks held or waited for\n");
  });
});

describe("run --lock", () => {
  test("the unit waits for its dependencies, then for the lock, and starts holding it: the lock wait is a wait in the timeline", async () => {
    await using served = await serve();
    await using holder = served.bash(`unitsync lock apt -- bash -c 'echo held; read line < gate'`);
    Bun.spawnSync(["mkfifo", join(served.dir, "gate")]);
    await holder.waitForStdout("held");
    await using db = served.bash("unitsync run db --after base --lock apt -- echo db ran");
    await waitUntil(async () => (await served.run("status", "db")).stdout.includes("base"));
    expect(await locks(served)).toEqual([expect.objectContaining({ waiters: [] })]);
    await served.run("run", "base", "--", "true");
    const entry = await queued(served, 1);
    expect(entry.waiters.map((w) => [w.unit, w.pid === undefined])).toEqual([["db", false]]);
    expect(JSON.parse((await served.run("status", "db", "-o", "json")).stdout).status).toBe("pending");
    await using open = served.bash("echo go > gate");
    const result = await db.result;
    const timeline: TimelineResponse = JSON.parse((await served.run("timeline", "-o", "json")).stdout);
    const unit = timeline.units.find((u) => u.unit_name === "db")!;
    const events = await lockEvents(served);
    const acquired = events.find((e) => e.type === "lock_acquired" && e.unit === "db") as Extract<LockEventEntry, { type: "lock_acquired" }>;
    expect({
      result,
      status: unit.status,
      // The unit's wait covers the whole time it queued for the lock.
      waitCoversLock: unit.wait_ms! >= acquired.waited_ms - 1,
      lockWait: acquired.waited_ms > 0,
    }).toEqual({
      result: {
        stdout: "db ran\n",
        stderr: expect.stringMatching(/^Unit "db" is waiting for dependencies to be satisfied: \[base\]\nUnit "db" waits for lock "apt", held by pid \d+; next in line\n$/),
        exitCode: 0,
      },
      status: "completed",
      waitCoversLock: true,
      lockWait: true,
    });
  });

  test("while it waits for the lock, its reports say so, every --report-every", async () => {
    await using served = await serve();
    await using holder = served.bash(`UNITSYNC_SCRIPT=10-apt.sh unitsync lock apt -- bash -c 'echo held; read line < gate'`);
    Bun.spawnSync(["mkfifo", join(served.dir, "gate")]);
    await holder.waitForStdout("held");
    await using db = served.spawn("run", "db", "--lock", "apt", "--report-every", "50ms", "--", "echo", "db ran");
    const report = /Unit "db" waits for lock "apt", held by 10-apt\.sh \(pid \d+\); next in line\n/g;
    await waitUntil(() => (db.stderr.match(report) ?? []).length >= 3, 10_000, "three reports");
    await using open = served.bash("echo go > gate");
    const result = await db.result;
    expect([result.exitCode, result.stdout, result.stderr.replace(report, "")]).toEqual([0, "db ran\n", ""]);
  });

  test("a lock wait past --timeout exits 4 and fails the unit, saying it was the lock", async () => {
    await using served = await serve();
    await using holder = served.bash(`unitsync lock apt -- bash -c 'echo held; read line < gate'`);
    Bun.spawnSync(["mkfifo", join(served.dir, "gate")]);
    await holder.waitForStdout("held");
    const result = await served.run("run", "db", "--lock", "apt", "--timeout", "200ms", "--", "echo", "never");
    const status = JSON.parse((await served.run("status", "db", "-o", "json")).stdout);
    expect([result.exitCode, result.stdout, result.stderr.split("\n").at(-2), status.status, status.reason]).toEqual([
      4,
      "",
      expect.stringMatching(/^error: timeout waiting for lock "apt" for unit 'db', held by pid \d+$/),
      "failed",
      'timed out waiting for lock "apt"',
    ]);
    await using open = served.bash("echo go > gate");
    await holder.result;
  });

  test("the lock is released when the command ends, before the outcome is recorded, and a SIGKILLed run releases it too", async () => {
    await using served = await serve();
    await using first = served.spawn("run", "one", "--lock", "apt", "--", "bash", "-c", "echo $$ > command.pid; echo held; exec sleep 60");
    await first.waitForStdout("held");
    await using second = served.spawn("run", "two", "--lock", "apt", "--", "echo", "two ran");
    await queued(served, 1);
    first.kill("SIGKILL");
    const result = await second.result;
    process.kill(Number((await Bun.file(join(served.dir, "command.pid")).text()).trim()), "SIGKILL");
    expect([result.exitCode, result.stdout, await locks(served)]).toEqual([0, "two ran\n", []]);
  });
});

describe("up and locks", () => {
  test("a deadlock through a lock whose holder is itself blocked is found and explained", async () => {
    using work = tempDir();
    const dir = join(work.path, "ws");
    mkdirSync(dir);
    const scripts: Record<string, string> = {
      // Holds apt while it waits for config...
      "10-install.sh": "unitsync want install config\nunitsync lock apt -- bash -c 'unitsync run apt-taken -- true; unitsync start install'",
      // ...which is made only once apt is free.
      "20-config.sh": "unitsync run config --after apt-taken --lock apt -- true",
    };
    for (const [name, body] of Object.entries(scripts)) {
      writeFileSync(join(dir, name), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`);
      chmodSync(join(dir, name), 0o755);
    }
    await using up = new Child([BINARY, "up", "--timeout", "60s", dir], { env: testEnv({ PATH: `${join(BINARY, "..")}:${process.env.PATH}` }) });
    const result = await up.result;
    const report = result.stdout
      .split("\n")
      .filter((line) => line.startsWith("up "))
      .map((line) => line.slice(line.indexOf("│ ") + 2).replace(/pid \d+/g, "pid N"));
    expect({ exitCode: result.exitCode, report: report.filter((line) => line.startsWith("deadlock") || line.startsWith("  ")) }).toEqual({
      exitCode: 1,
      report: [
        'deadlock: every script still running waits in "unitsync start" or for a lock, and nothing it waits for can happen:',
        '  10-install.sh: "install" waits for "config", which itself waits for lock "apt"',
        '  unit "config" (20-config.sh, pid N): waits for lock "apt", held by 10-install.sh (pid N), which is itself blocked',
      ],
    });
  });
});
