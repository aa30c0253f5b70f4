import { describe, expect, test } from "bun:test";
import { UnitsyncClient } from "../../src/client/index.ts";
import { explainDeadlock, scriptsBlockage } from "../../src/supervisor/deadlock.ts";
import { BINARY, testEnv, testServer, waitUntil } from "../helpers.ts";

describe("explainDeadlock", () => {
  test("names, per waiting script, each dependency and why it can never come", async () => {
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.start("git-clone", { timeoutMs: 0, asker: { pid: 101, script: "clone.sh" } });
    await client.want("deps", ["base"]);
    await client.start("seed", { timeoutMs: 0 });
    await client.complete("seed");
    await client.want("db", ["seed"]);
    await client.want("app", ["gti-clone", "deps", "db", "git-clone"]);
    // Ended by the server's stop below; only what the server saw of them matters here.
    const ended = (start: Promise<unknown>) => start.catch(() => {});
    const app = ended(client.start("app", { timeoutMs: 0, asker: { pid: 102, script: "app.sh" } }));
    const deps = ended(client.start("deps", { timeoutMs: 0, asker: { pid: 103 } }));
    await waitUntil(() => server.view.waitingStarts().length === 2, 5_000, "both starts to wait");
    expect(explainDeadlock(server.view)).toEqual([
      'deadlock: every script still running waits in "unitsync start", and nothing it waits for can happen:',
      '  pid 103: "deps" waits for "base", which no script registered',
      '  app.sh: "app" waits for "db", which is registered, but no running script asked to start it',
      '  app.sh: "app" waits for "deps", which itself waits for [base]',
      '  app.sh: "app" waits for "git-clone", which clone.sh started and has not completed',
      '  app.sh: "app" waits for "gti-clone", which no script registered; did you mean "git-clone"?',
    ]);
    await server.stop();
    await Promise.all([app, deps]);
  });
});

describe("scriptsBlockage", () => {
  /** Runs `command` as a script of its own process group, as `up` does. */
  function script(command: string, socketPath: string) {
    return Bun.spawn(["bash", "-c", command], {
      env: testEnv({ UNITSYNC_SOCKET_PATH: socketPath }),
      stdout: "ignore",
      stderr: "ignore",
      detached: true,
    });
  }

  test("blocked only when every script's every process waits on the server or on a blocked one", async () => {
    await using server = await testServer();
    const socket = server.socketPath;
    await new UnitsyncClient(socket).want("app", ["never"]);
    const waiting = script(`${BINARY} start app | cat`, socket);
    const sleeping = script(`sleep 30; ${BINARY} start app`, socket);
    try {
      await waitUntil(() => server.view.waitingStarts().length === 1, 10_000, "the start to wait");
      const running = [
        { name: "waits.sh", pid: waiting.pid },
        { name: "sleeps.sh", pid: sleeping.pid },
      ];
      // A sleeping script has nothing waiting on the server: it may still register anything.
      expect(await scriptsBlockage(server.view, running)).toBe("busy");
      sleeping.kill("SIGKILL");
      await sleeping.exited;
      // `cat` reads a pipe whose only writer is a waiting start: the pipeline is blocked.
      // (`cat` may not have reached its read yet: looked at again until it has.)
      await waitUntil(async () => (await scriptsBlockage(server.view, running.slice(0, 1))) === "blocked", 10_000, "the pipeline to block");
      expect(await scriptsBlockage(server.view, [])).toBe("busy");
    } finally {
      process.kill(-waiting.pid, "SIGKILL");
      if (!sleeping.killed) process.kill(-sleeping.pid, "SIGKILL");
    }
  });
});
