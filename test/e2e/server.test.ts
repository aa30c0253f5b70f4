// The life of `unitsync serve`: the socket file and its directory, stale files, a second
// server on a live path, stopping on signals, and what waiting clients see when it stops.
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, testEnv, testNeeding, unitsync } from "../helpers.ts";
import { Child, ok, pinged, serve, waitUntilAnswering } from "./_bash.ts";

const mode = (path: string) => (lstatSync(path).mode & 0o777).toString(8);

/** A private temp dir for tests that place the socket themselves; removed on dispose. */
function scratch(): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), "unitsync-e2e-"));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** A `serve` child on `socketPath`, stopped (SIGKILL) on dispose if still running. */
function serveAt(socketPath: string): Child {
  return new Child([BINARY, "serve", "--socket-path", socketPath], { env: testEnv() });
}

describe("the socket file", () => {
  test("is mode 0600, in a directory the server created with mode 0700", async () => {
    using dir = scratch();
    const socketDirectory = join(dir.path, "made-by-server");
    const socketPath = join(socketDirectory, "unitsync.sock");
    await using server = serveAt(socketPath);
    await waitUntilAnswering(socketPath, server);
    expect({ socket: mode(socketPath), directory: mode(socketDirectory), isSocket: lstatSync(socketPath).isSocket() }).toEqual({
      socket: "600",
      directory: "700",
      isSocket: true,
    });
  });

  test("a stale socket file left by a killed server is replaced", async () => {
    await using first = await serve();
    first.server.kill("SIGKILL");
    await first.server.result;
    expect(lstatSync(first.socketPath).isSocket()).toBe(true);

    await using second = serveAt(first.socketPath);
    await waitUntilAnswering(first.socketPath, second);
    expect(await first.run("ping")).toEqual(
      pinged(second.pid, first.socketPath, "from UNITSYNC_SOCKET_PATH"),
    );
  });

  // Bun.listen removes its socket file when it stops, so python3 makes the stale file.
  testNeeding("python3")("a stale socket file bound by another program and closed is replaced", async () => {
    using dir = scratch();
    const socketPath = join(dir.path, "unitsync.sock");
    const bound = Bun.spawnSync([
      "python3",
      "-c",
      "import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()",
      socketPath,
    ]);
    expect({ exitCode: bound.exitCode, isSocket: lstatSync(socketPath).isSocket() }).toEqual({ exitCode: 0, isSocket: true });

    await using server = serveAt(socketPath);
    await waitUntilAnswering(socketPath, server);
    expect(mode(socketPath)).toBe("600");
  });

  test("a second server on a live path exits 1 and the first keeps serving", async () => {
    await using served = await serve();
    await served.run("start", "before");
    await using second = serveAt(served.socketPath);
    expect(await second.result).toEqual({
      stdout: "",
      stderr: `error: another unitsync server is already listening on ${served.socketPath}\n`,
      exitCode: 1,
    });
    expect({
      ping: await served.run("ping"),
      list: await served.run("list"),
      socketStillThere: existsSync(served.socketPath),
    }).toEqual({
      ping: pinged(served.server.pid, served.socketPath, "from UNITSYNC_SOCKET_PATH", 1),
      list: ok("UNIT    STATUS   READY  \nbefore  started  true   \n"),
      socketStillThere: true,
    });
  });

  test("a regular file at the path is left alone", async () => {
    using dir = scratch();
    const socketPath = join(dir.path, "not-a-socket");
    writeFileSync(socketPath, "precious");
    await using server = serveAt(socketPath);
    expect({ result: await server.result, content: await Bun.file(socketPath).text() }).toEqual({
      result: {
        stdout: "",
        stderr: `error: ${socketPath} exists and is not a socket; remove it or choose another --socket-path\n`,
        exitCode: 1,
      },
      content: "precious",
    });
  });
});

describe("a path the server cannot serve on", () => {
  test.each([
    ["a file system that holds no sockets", "/proc/self/u.sock", /^error: cannot serve on \/proc\/self\/u\.sock: cannot create its lock file \/proc\/self\/u\.sock\.lock \(ENOENT\); choose another --socket-path\n$/],
    ["a directory that cannot be made", "/proc/self/sub/u.sock", /^error: cannot create the socket directory \/proc\/\d+\/sub \(E[A-Z]+\); choose another --socket-path\n$/],
    ["an empty path", "", /^error: --socket-path is empty: give a socket path, or leave the flag out for \$UNITSYNC_SOCKET_PATH or the default\n$/],
  ])("%s: one line, no stack trace", async (_, socketPath, stderr) => {
    await using server = serveAt(socketPath);
    expect(await server.result).toEqual({
      stdout: "",
      stderr: expect.stringMatching(stderr),
      exitCode: socketPath === "" ? 2 : 1,
    });
  });
});

describe("stopping", () => {
  test.each(["SIGTERM", "SIGINT"] as const)("%s removes the socket file and exits 0", async (signal) => {
    await using served = await serve();
    served.server.kill(signal);
    const result = await served.server.result;
    expect({
      exitCode: result.exitCode,
      stdout: result.stdout,
      stoppedLine: result.stderr.includes(`stopped on ${signal}; removed ${served.socketPath}`),
      socketStillThere: existsSync(served.socketPath),
    }).toEqual({ exitCode: 0, stdout: "", stoppedLine: true, socketStillThere: false });
  });

  test("a start waiting when the server stops exits 5 and says so, told not to wait for the next one", async () => {
    await using served = await serve();
    await served.run("want", "w", "dep");
    await using start = served.spawn("start", "w", "--wait-for-server", "0");
    await start.waitForStdout("is waiting");
    served.server.kill("SIGTERM");
    expect({ start: await start.result, serverExit: (await served.server.result).exitCode }).toEqual({
      start: {
        stdout: `Unit "w" is waiting for dependencies to be satisfied: [dep]\n`,
        stderr: `error: the unitsync server on ${served.socketPath} shut down\n`,
        exitCode: 5,
      },
      serverExit: 0,
    });
  });

  test("a start waiting when the server is killed exits 5 and says so, told not to wait for the next one", async () => {
    await using served = await serve();
    await served.run("want", "w", "dep");
    // Told not to wait for a next server (by default it would: test/e2e/restart.test.ts).
    await using start = served.spawn("start", "w", "--wait-for-server", "0");
    await start.waitForStdout("is waiting");
    served.server.kill("SIGKILL");
    expect(await start.result).toEqual({
      stdout: `Unit "w" is waiting for dependencies to be satisfied: [dep]\n`,
      stderr: `error: the unitsync server on ${served.socketPath} went away\n`,
      exitCode: 5,
    });
  });
});

describe("the runtime", () => {
  const jitOption = (pid: number) => /(?:^|\0)BUN_JSC_useDFGJIT=([^\0]*)/.exec(readFileSync(`/proc/${pid}/environ`, "utf8"))?.[1];

  test.each([
    ["starts again, same pid, without JavaScriptCore's optimizing compilers", {}, "0"],
    ["leaves the option alone when whoever runs it set it", { BUN_JSC_useDFGJIT: "1" }, "1"],
  ])("serve %s", async (_, extra, expected) => {
    using dir = scratch();
    const socketPath = join(dir.path, "unitsync.sock");
    await using server = new Child([BINARY, "serve", "--socket-path", socketPath], { env: testEnv(extra) });
    await waitUntilAnswering(socketPath, server);
    expect({ option: jitOption(server.pid), ping: await unitsync(["ping"], { UNITSYNC_SOCKET_PATH: socketPath }) }).toEqual({
      option: expected,
      ping: pinged(server.pid, socketPath, "from UNITSYNC_SOCKET_PATH"),
    });
  });
});
