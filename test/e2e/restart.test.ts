// The server survives its own restart: a `serve` killed with SIGKILL and started again on
// the same path recovers what it knew from its journal, and the scripts that were waiting
// on it go on waiting on the new one, through the compiled binary from bash.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { BINARY, testEnv } from "../helpers.ts";
import { Child, serve, waitUntilAnswering, type Served } from "./_bash.ts";
import { UnitsyncClient } from "../../src/client/index.ts";

/**
 * Resolves once the server at `socketPath` holds a waiting start for each of `units`: the
 * clients that rode over a restart have asked the new server again. Asked as `up` asks, held
 * until the server's state changes.
 */
async function waitingAgain(socketPath: string, units: readonly string[]): Promise<void> {
  const client = new UnitsyncClient(socketPath);
  for (let after: number | undefined; ; ) {
    const answer = await client.supervision(after === undefined ? {} : { after });
    if (units.every((unit) => answer.waiting.some((start) => start.unit === unit))) return;
    after = answer.version;
  }
}

/** A served test directory whose server can be killed and started again on the same socket. */
async function restartable(): Promise<Served & { kill(signal?: NodeJS.Signals): Promise<void>; restart(...flags: string[]): Promise<Child> }> {
  const served = await serve();
  const servers: Child[] = [served.server];
  const disposeServed = served[Symbol.asyncDispose].bind(served);
  return Object.assign(served, {
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      const current = servers.at(-1)!;
      current.kill(signal);
      await current.result;
    },
    async restart(...flags: string[]) {
      const server = new Child([BINARY, "serve", "--socket-path", served.socketPath, ...flags], { env: testEnv() });
      servers.push(server);
      await waitUntilAnswering(served.socketPath, server);
      return server;
    },
    async [Symbol.asyncDispose]() {
      for (const server of servers.slice(1)) await server[Symbol.asyncDispose]();
      await disposeServed();
    },
  });
}

const GONE = "went away; waiting for a server on the same path to go on";

describe("after a SIGKILL and a restart on the same path", () => {
  test("waiting start, run and events --follow go on, and are released by the new server", async () => {
    await using s = await restartable();
    expect((await s.run("want", "app", "db")).exitCode).toBe(0);
    const start = s.spawn("start", "app", "--timeout", "30s");
    const run = s.spawn("run", "web", "--after", "db", "--", "sh", "-c", "echo web ran");
    const follow = s.spawn("events", "--follow", "-o", "json");
    await start.waitForStdout("is waiting for dependencies");
    await run.waitForStderr("is waiting for dependencies");
    await follow.waitForStdout('"web"');

    await s.kill();
    await start.waitForStderr(GONE);
    await run.waitForStderr(GONE);
    await follow.waitForStderr(GONE);
    const server = await s.restart();
    expect(server.stderr).toMatch(/recovered 2 units \(\d+ operations\) from .*unitsync\.sock\.journal/);
    // Released by the new server, not finding db done when they come back (also right, but another test).
    await waitingAgain(s.socketPath, ["app", "web"]);

    expect((await s.run("start", "db")).exitCode).toBe(0);
    expect((await s.run("complete", "db")).exitCode).toBe(0);
    const started = await start.result;
    expect(started.exitCode).toBe(0);
    expect(started.stdout).toContain('Unit "app" finished waiting for dependencies: [db]');
    const ran = await run.result;
    expect(ran).toMatchObject({ exitCode: 0, stdout: "web ran\n" });

    await follow.waitForStdout('"unit":"web","from":"started","to":"completed"');
    follow.kill();
    const events = (await follow.result).stdout.trim().split("\n").map((line) => JSON.parse(line) as { seq: number; unit: string; to?: string });
    // Numbered on from the old server's log: none repeated, none skipped.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.to === "started").map((e) => e.unit).sort()).toEqual(["app", "db", "web"]);
    expect((await s.run("status", "web", "-o", "json")).stdout).toContain('"status": "completed"');
  });

  test("what completed or failed stays so, with its times and reasons, and ping says where it came from", async () => {
    await using s = await restartable();
    await s.run("start", "db");
    await s.run("complete", "db");
    await s.run("fail", "lint", "--reason", "exit code 2").catch(() => {});
    await s.run("want", "deploy", "lint");
    const before = JSON.parse((await s.run("timeline", "-o", "json")).stdout);

    await s.kill();
    await s.restart();
    expect(JSON.parse((await s.run("timeline", "-o", "json")).stdout).units).toEqual(before.units);
    const ping = await s.run("ping");
    expect(ping.stdout).toMatch(/Recovered at its start: 3 units from .*unitsync\.sock\.journal \(\d+ operations\)/);

    const app = await s.run("want", "app", "db");
    expect(app.exitCode).toBe(0);
    expect((await s.run("start", "app")).stdout).toContain("started immediately, dependencies already satisfied: [db]");
    const deploy = await s.run("start", "deploy");
    expect(deploy.exitCode).toBe(3);
    expect(deploy.stderr).toContain('dependency "lint" failed');
    expect((await s.run("start", "db")).exitCode).not.toBe(0); // already completed: not started twice
  });

  test("a server stopped with SIGTERM and started again (as s6 or supervisord restart it) is waited for too", async () => {
    await using s = await restartable();
    await s.run("want", "app", "db");
    const start = s.spawn("start", "app", "--timeout", "30s");
    await start.waitForStdout("is waiting for dependencies");
    await s.kill("SIGTERM");
    await start.waitForStderr("shut down; waiting for a server on the same path to go on");
    await s.restart();
    await s.run("start", "db");
    await s.run("complete", "db");
    expect(await start.result).toMatchObject({ exitCode: 0 });
  });

    test("a dependency that fails on the new server fails the waiting start with exit 3", async () => {
    await using s = await restartable();
    await s.run("want", "app", "db");
    const start = s.spawn("start", "app", "--timeout", "30s");
    await start.waitForStdout("is waiting for dependencies");
    await s.kill();
    await start.waitForStderr(GONE);
    await s.restart();
    await s.run("fail", "db", "--reason", "disk full");
    const result = await start.result;
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain("disk full");
  });

  test("a dependency started before the crash and completed after it releases a bash script's start", async () => {
    await using s = await restartable();
    // Three scripts from bash, the way they would be written; the server dies between them.
    const script = s.bash(`unitsync want app db\nunitsync start app --timeout 30s\necho app started\n`);
    await script.waitForStdout("is waiting for dependencies");
    await s.run("start", "db");
    await s.kill();
    await s.restart();
    await s.run("complete", "db");
    expect(await script.result).toMatchObject({ exitCode: 0 });
    expect(script.stdout).toContain("app started");
  });

  test("a waiting start gives up after --wait-for-server with exit 5 when no server comes back", async () => {
    await using s = await restartable();
    await s.run("want", "app", "db");
    const start = s.spawn("start", "app", "--timeout", "30s", "--wait-for-server", "300ms");
    await start.waitForStdout("is waiting for dependencies");
    await s.kill();
    const result = await start.result;
    expect(result.exitCode).toBe(5);
    expect(result.stderr).toContain(GONE);
  });

  test("with no server ever, a start still fails at once with exit 5", async () => {
    await using s = await restartable();
    await s.kill();
    const result = await s.run("start", "app", "--timeout", "30s");
    expect(result.exitCode).toBe(5);
    expect(result.stderr).not.toContain(GONE);
  });
});

describe("the journal", () => {
  test("serve --fresh starts empty, says so, and keeps the earlier journal aside", async () => {
    await using s = await restartable();
    await s.run("start", "db");
    await s.kill();
    const server = await s.restart("--fresh");
    expect(server.stderr).toContain("starting empty (--fresh); the earlier journal is kept as");
    expect(existsSync(`${s.socketPath}.journal.old`)).toBe(true);
    expect((await s.run("ping")).stdout).toContain(", 0 units");
  });

  test("serve --no-journal keeps none: the next server starts empty", async () => {
    await using s = await restartable();
    await s.kill();
    await s.restart("--fresh", "--no-journal");
    await s.run("start", "db");
    await s.kill();
    await s.restart();
    expect((await s.run("ping")).stdout).toContain(", 0 units");
  });

  test("a last line cut short is dropped and said; a line damaged before it sets the journal aside", async () => {
    await using s = await restartable();
    await s.run("start", "a");
    await s.run("start", "b");
    await s.kill();
    const journal = `${s.socketPath}.journal`;
    const text = readFileSync(journal, "utf8");
    writeFileSync(journal, text.slice(0, -10));
    const recovering = await s.restart();
    expect(recovering.stderr).toContain("its last line was cut short and is dropped");
    expect((await s.run("status", "a", "-o", "json")).stdout).toContain('"status": "started"');

    await s.kill();
    const lines = readFileSync(journal, "utf8").split("\n");
    lines[1] = lines[1]!.replace('"a"', '"z"');
    writeFileSync(journal, lines.join("\n"));
    const setAside = await s.restart();
    expect(setAside.stderr).toMatch(/the journal .* cannot be trusted \(line 2 is damaged\); set aside as .*\.journal\.old, starting empty/);
    expect((await s.run("ping")).stdout).toContain(", 0 units");
  });

  test("a symbolic link in the journal's place is never followed", async () => {
    await using s = await restartable();
    await s.kill();
    const target = `${s.dir}/target`;
    writeFileSync(target, "precious\n");
    const journal = `${s.socketPath}.journal`;
    require("node:fs").rmSync(journal);
    symlinkSync(target, journal);
    const server = await s.restart();
    expect(server.stderr).toContain("not keeping a journal");
    await s.run("start", "db");
    expect(readFileSync(target, "utf8")).toBe("precious\n");
  });
});
