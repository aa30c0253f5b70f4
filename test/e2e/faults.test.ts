// Faults of the server's life as clients see them: killed or stopped while many clients of
// every kind wait, frozen (SIGSTOP) under their requests, and started several times at once
// on one path.
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { BINARY, tempDir, testEnv, waitUntil } from "../helpers.ts";
import { Child, pinged, run, serve, waitUntilAnswering, type Served } from "./_bash.ts";

const WAITERS = 20;

/** Twenty scripts blocked in `start`, one `run` and one `events --follow`, all waiting on `gate`. */
async function blockedClients(served: Served): Promise<Child[]> {
  const clients = Array.from({ length: WAITERS }, (_, i) =>
    served.bash(`unitsync want w${i} gate\nunitsync start w${i}\necho "w${i} started"`),
  );
  clients.push(served.spawn("run", "r", "--after", "gate", "--", "true"));
  const follower = served.spawn("events", "--follow");
  for (const client of clients) await (client === clients.at(-1) ? client.waitForStderr("waiting") : client.waitForStdout("is waiting"));
  await follower.waitForStdout("w0");
  return [...clients, follower];
}

const serverGone = {
  SIGKILL: (socketPath: string) => `error: the unitsync server on ${socketPath} went away\n`,
  SIGTERM: (socketPath: string) => `error: the unitsync server on ${socketPath} shut down\n`,
};

describe("the server stops while clients wait", () => {
  // By default a waiting client waits for the next server on the path (test/e2e/restart.test.ts);
  // told not to wait for one, it ends at once.
  test.each(["SIGKILL", "SIGTERM"] as const)("%s: with UNITSYNC_WAIT_FOR_SERVER=0, every waiting client exits 5 with one line saying so", async (signal) => {
    await using served = await serve();
    served.env.UNITSYNC_WAIT_FOR_SERVER = "0";
    const clients = await blockedClients(served);
    served.server.kill(signal);
    const results = await Promise.all(clients.map((client) => client.result));
    const lastLines = results.map((result) => result.stderr.trimEnd().split("\n").at(-1));
    expect({
      exitCodes: [...new Set(results.map((result) => result.exitCode))],
      lastLines: [...new Set(lastLines)],
      started: results.filter((result) => result.stdout.includes("started")).length,
      stackTraces: results.filter((result) => /^\s+at |TypeError|Bun v\d/m.test(result.stderr)).length,
      socketFileLeft: existsSync(served.socketPath),
    }).toEqual({
      exitCodes: [5],
      lastLines: [serverGone[signal](served.socketPath).trimEnd()],
      started: 0,
      stackTraces: 0,
      // SIGKILL leaves the file for the next server to replace; SIGTERM removes it.
      socketFileLeft: signal === "SIGKILL",
    });
  });

  test("after SIGKILL a new server starts over the stale file and serves the same scripts", async () => {
    await using served = await serve();
    served.env.UNITSYNC_WAIT_FOR_SERVER = "0";
    await blockedClients(served);
    served.server.kill("SIGKILL");
    await served.server.result;
    expect(lstatSync(served.socketPath).isSocket()).toBe(true);
    await using second = new Child([BINARY, "serve", "--fresh", "--socket-path", served.socketPath], { env: testEnv() });
    await waitUntilAnswering(served.socketPath, second);
    const script = served.bash("unitsync want w0 gate\nunitsync start gate\nunitsync complete gate\nunitsync start w0");
    expect({ script: (await script.result).exitCode, ping: await served.run("ping") }).toEqual({
      script: 0,
      ping: pinged(second.pid, served.socketPath, "from UNITSYNC_SOCKET_PATH", 2),
    });
  });
});

describe("serve started several times at once on one path", () => {
  test.each([
    ["a fresh path", false],
    ["a stale socket file", true],
  ] as const)("on %s: exactly one wins, the others say so and leave its socket alone", async (_, stale) => {
    using dir = tempDir();
    const socketPath = join(dir.path, "unitsync.sock");
    let current: Child | undefined;
    try {
      for (let round = 0; round < 5; round++) {
        // Each round starts with no server: the path is empty or holds a stale socket file.
        if (current) {
          current.kill(stale ? "SIGKILL" : "SIGTERM");
          await current.result;
          expect(existsSync(socketPath)).toBe(stale);
        }
        const racers = Array.from({ length: 4 }, () => new Child([BINARY, "serve", "--socket-path", socketPath], { env: testEnv() }));
        const winner = await Promise.any(racers.map((racer) => racer.waitForStderr("serving on").then(() => racer)));
        current = winner;
        const lost = await Promise.all(racers.filter((racer) => racer !== winner).map((racer) => racer.result));
        expect({
          lost: lost.map(({ stdout, stderr, exitCode }) => ({ stdout, stderr: stderr.replace("already listening on", "starting on").replace(" right now", ""), exitCode })),
          winnerRunning: winner.running,
          ping: await run(["ping", "--socket-path", socketPath]),
        }).toEqual({
          lost: [1, 2, 3].map(() => ({ stdout: "", stderr: `error: another unitsync server is starting on ${socketPath}\n`, exitCode: 1 })),
          winnerRunning: true,
          ping: pinged(winner.pid, socketPath, "from --socket-path"),
        });
      }
    } finally {
      await current?.[Symbol.asyncDispose]();
    }
  });
});

describe("clients that start before the server", () => {
  const gone = (socketPath: string, waited = "") =>
    `error: no unitsync server at ${socketPath} (no socket file there)${waited}; start one with "unitsync serve", or point --socket-path or UNITSYNC_SOCKET_PATH at a running one\n`;

  test("fail at once by default", async () => {
    using dir = tempDir();
    const socketPath = join(dir.path, "later.sock");
    expect(await run(["start", "x", "--socket-path", socketPath])).toEqual({ stdout: "", stderr: gone(socketPath), exitCode: 5 });
  });

  test("give up after --wait-for-server, saying how long they waited", async () => {
    using dir = tempDir();
    const socketPath = join(dir.path, "later.sock");
    expect(await run(["ping", "--socket-path", socketPath, "--wait-for-server", "200ms"])).toEqual({
      stdout: "",
      stderr: gone(socketPath, " after waiting 0.2s for one"),
      exitCode: 5,
    });
  });

  test.each([
    ["--wait-for-server", { flag: ["--wait-for-server", "20s"], env: {} }],
    ["UNITSYNC_WAIT_FOR_SERVER", { flag: [], env: { UNITSYNC_WAIT_FOR_SERVER: "20s" } }],
  ] as const)("with %s, a whole start-up launched before its server runs once the server is up", async (_, how) => {
    using dir = tempDir();
    const socketPath = join(dir.path, "boot", "unitsync.sock");
    const env = testEnv({ UNITSYNC_SOCKET_PATH: socketPath, U: BINARY, ...how.env });
    const wait = how.flag.join(" ");
    const scripts = ["clone", "deps", "agent"].map((unit, i, all) => {
      const after = i > 0 ? `"$U" want ${unit} ${all[i - 1]} ${wait}\n` : "";
      return new Child(["bash", "-c", `set -e\n${after}"$U" start ${unit} ${wait}\n"$U" complete ${unit} ${wait}`], { env });
    });
    await using server = new Child([BINARY, "serve", "--socket-path", socketPath], { env: testEnv() });
    const results = await Promise.all(scripts.map((script) => script.result));
    expect({ exitCodes: results.map((r) => r.exitCode), stderr: results.map((r) => r.stderr).join("") }).toEqual({
      exitCodes: [0, 0, 0],
      stderr: "",
    });
    const listed = JSON.parse((await run(["list", "--socket-path", socketPath, "-o", "json"])).stdout) as { unit_name: string; status: string }[];
    expect(listed.map((unit) => `${unit.unit_name} ${unit.status}`).sort()).toEqual(["agent completed", "clone completed", "deps completed"]);
    expect(server.running).toBe(true);
  });

  test("a stale socket file is waited through too, until a new server replaces it", async () => {
    await using served = await serve();
    served.server.kill("SIGKILL");
    await served.server.result;
    const client = new Child([BINARY, "start", "x", "--wait-for-server", "20s"], { env: served.env });
    await using second = new Child([BINARY, "serve", "--socket-path", served.socketPath], { env: testEnv() });
    expect(await client.result).toEqual({ stdout: 'Unit "x" started with no dependencies\n', stderr: "", exitCode: 0 });
  });
});

describe("a frozen server (SIGSTOP): it accepts connections and never answers", () => {
  const env = (served: Served, timeout = "300ms") => ({ ...served.env, UNITSYNC_REQUEST_TIMEOUT: timeout });
  const noAnswer = (socketPath: string, within = "0.3s") =>
    `error: the unitsync server on ${socketPath} did not answer within ${within}; it may be stopped or overloaded: ` +
    `check its process, or allow longer with UNITSYNC_REQUEST_TIMEOUT (0 waits for ever)\n`;

  /** Freezes the server for the body, and thaws it whatever happens, so that it can stop. */
  async function frozen(served: Served, body: () => Promise<void>): Promise<void> {
    served.server.kill("SIGSTOP");
    try {
      await body();
    } finally {
      served.server.kill("SIGCONT");
    }
  }

  test("every command gives up after UNITSYNC_REQUEST_TIMEOUT, waiting ones before their first line: exit 5, one line", async () => {
    await using served = await serve();
    await served.run("want", "a", "b");
    const commands = [
      ["ping"],
      ["want", "c", "d"],
      ["complete", "a"],
      ["complete", "a", "--exit-code", "1"],
      ["fail", "a"],
      ["status", "a"],
      ["list"],
      ["graph"],
      ["timeline"],
      ["events"],
      ["start", "x"],
      ["run", "x", "--", "true"],
      ["complete", "a", "--when", "file:/"],
      ["events", "--follow"],
      ["ping", "--wait-for-server", "10s"],
    ];
    await frozen(served, async () => {
      const results = await Promise.all(commands.map((args) => run(args, env(served))));
      expect(results).toEqual(commands.map(() => ({ stdout: "", stderr: noAnswer(served.socketPath), exitCode: 5 })));
    });
  });

  test("UNITSYNC_REQUEST_TIMEOUT=0 waits for ever: a ping outlasts one that gives up, and answers once the server thaws", async () => {
    await using served = await serve();
    await frozen(served, async () => {
      const patient = new Child([BINARY, "ping"], { env: env(served, "0") });
      expect(await run(["ping"], env(served))).toEqual({ stdout: "", stderr: noAnswer(served.socketPath), exitCode: 5 });
      expect(patient.running).toBe(true);
      served.server.kill("SIGCONT");
      expect(await patient.result).toEqual(pinged(served.server.pid, served.socketPath, "from UNITSYNC_SOCKET_PATH"));
    });
  });

  test("the deadline ends with the first line: a start and a follower stay as long as their wait takes", async () => {
    await using served = await serve();
    await served.run("want", "a", "b");
    const start = new Child([BINARY, "start", "a", "--report-every", "100ms"], { env: env(served, "300ms") });
    const follower = new Child([BINARY, "events", "--follow"], { env: env(served, "300ms") });
    await follower.waitForStdout("depends on [b]");
    // Four reports 100 ms apart: the wait has outlived the 300 ms deadline.
    await waitUntil(() => /(still waits[^]*){4}/.test(start.stderr), 10_000, "four waiting reports");
    await served.run("start", "b");
    await served.run("complete", "b");
    await follower.waitForStdout('unit "b" completed');
    const running = follower.running;
    follower.kill();
    expect({ start: (await start.result).exitCode, followerStillRunning: running }).toEqual({ start: 0, followerStillRunning: true });
  });

  test("a bad UNITSYNC_REQUEST_TIMEOUT is a usage error", async () => {
    await using served = await serve();
    expect(await run(["ping"], env(served, "soon"))).toEqual({
      stdout: "",
      stderr: 'error: invalid duration "soon" for UNITSYNC_REQUEST_TIMEOUT: use e.g. 30s, 5m or 1h (0 waits for ever)\n',
      exitCode: 2,
    });
  });
});
