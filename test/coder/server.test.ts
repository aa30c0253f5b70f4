// Coder's agent socket server tests (agent/agentsocket/server_test.go), run against
// `unitsync serve --coder`: the socket file's life, and a second server on a live path.
import { describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../helpers.ts";
import { Child, waitUntilAnswering } from "../e2e/_bash.ts";
import { coderLink, failed, ok } from "./_coder.ts";

function serveAt(socketPath: string, env: Record<string, string>): Child {
  return new Child([BINARY, "serve", "--coder", "--socket-path", socketPath], { env });
}

describe("serve --coder", () => {
  test("59, 62, 63 makes its directory 0700 and socket 0600, and removes the socket when stopped", async () => {
    const { dir, env } = coderLink();
    const socketPath = join(dir, "missing", "agent.sock");
    await using server = serveAt(socketPath, env);
    await waitUntilAnswering(socketPath, server);
    const modes = { directory: statSync(join(dir, "missing")).mode & 0o777, socket: statSync(socketPath).mode & 0o777 };
    server.kill("SIGTERM");
    expect({ modes, exitCode: (await server.result).exitCode, left: existsSync(socketPath) }).toEqual({
      modes: { directory: 0o700, socket: 0o600 },
      exitCode: 0,
      left: false,
    });
  });

  test("60 a second server on a live path fails to create its socket", async () => {
    const { dir, env } = coderLink();
    const socketPath = join(dir, "agent.sock");
    await using first = serveAt(socketPath, env);
    await waitUntilAnswering(socketPath, first);
    await using second = serveAt(socketPath, env);
    expect(await second.result).toEqual({
      stdout: "",
      stderr: `error: create socket: socket path ${socketPath} is not available\n`,
      exitCode: 1,
    });
  });

  test("61 a stale socket file that nobody answers on is replaced", async () => {
    const { dir, coder, env } = coderLink();
    const socketPath = join(dir, "agent.sock");
    const killed = serveAt(socketPath, env);
    await waitUntilAnswering(socketPath, killed);
    killed.kill("SIGKILL");
    await killed.result;
    expect(existsSync(socketPath)).toBe(true);
    await using server = serveAt(socketPath, env);
    await waitUntilAnswering(socketPath, server);
    await using ping = new Child([coder, "exp", "sync", "ping", "--socket-path", socketPath], { env });
    expect(await ping.result).toEqual(ok("Success"));
  });

  test.skipIf(existsSync("/tmp/coder-agent.sock"))("the default socket is Coder's, /tmp/coder-agent.sock", async () => {
    const { coder, env } = coderLink();
    await using ping = new Child([coder, "exp", "sync", "ping"], { env });
    expect(await ping.result).toEqual(
      failed("ping", "connect to agent socket: connect to socket: dial unix /tmp/coder-agent.sock: connect: no such file or directory"),
    );
  });
});
