// Who may reach the server: the socket and its directory as DESIGN.md sets them, paths that
// another user controls, and `serve --group` for scripts that run as a different user. The
// other user is `nobody`, reached with setpriv, so these tests need root (CI runs as root).
import { expect, test } from "bun:test";
import { chmodSync, chownSync, lstatSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { BINARY, tempDir, testEnv, type Result } from "../helpers.ts";
import { Child, run, waitUntilAnswering } from "./_bash.ts";
import { as, describeAsOtherUsers, NOBODY, sharedBinary, USERS } from "./_users.ts";

const modeOf = (path: string) => {
  const stat = lstatSync(path);
  return { mode: (stat.mode & 0o7777).toString(8), gid: stat.gid };
};

/** Runs the binary as uid `nobody` with `gid` as its only group. */
const asNobody = (binary: string, gid: number, args: string[]): Promise<Result> => as(NOBODY, gid, [binary, ...args]).result;

const denied = (socketPath: string): Result => ({
  stdout: "",
  stderr: `error: no unitsync server at ${socketPath} (permission denied); run as the server's user, or start the server with "unitsync serve --group GROUP" for a group you are in\n`,
  exitCode: 5,
});

describeAsOtherUsers("who may reach the server", () => {
  test("by default only its own user: directory 0700, socket 0600, anyone else refused", async () => {
    using dir = tempDir();
    const binary = sharedBinary(dir.path);
    const socketPath = join(dir.path, "private", "unitsync.sock");
    await using server = new Child([binary, "serve", "--socket-path", socketPath], { env: testEnv() });
    await waitUntilAnswering(socketPath, server);
    expect({
      directory: modeOf(join(dir.path, "private")).mode,
      socket: modeOf(socketPath).mode,
      nobody: await asNobody(binary, USERS, ["want", "a", "b", "--socket-path", socketPath]),
      units: (await run(["list", "--socket-path", socketPath, "-o", "json"])).stdout,
    }).toEqual({ directory: "700", socket: "600", nobody: denied(socketPath), units: "[]\n" });
  });

  test("serve --group: directory 0710 and socket 0660 of that group; its members get in, others do not", async () => {
    using dir = tempDir();
    const binary = sharedBinary(dir.path);
    const socketPath = join(dir.path, "shared", "unitsync.sock");
    await using server = new Child([binary, "serve", "--socket-path", socketPath, "--group", "users"], { env: testEnv() });
    await waitUntilAnswering(socketPath, server);
    const member = (...args: string[]) => asNobody(binary, USERS, [...args, "--socket-path", socketPath]);
    expect({
      directory: modeOf(join(dir.path, "shared")),
      socket: modeOf(socketPath),
      // The socket answers a moment before serve logs that it is up.
      logged: await server.waitForStderr(`serving on ${socketPath} (pid ${server.pid}, shared with group users)`).then(() => true),
      want: await member("want", "app", "db"),
      start: await member("start", "db"),
      complete: await member("complete", "db"),
      outsider: await asNobody(binary, NOBODY, ["ping", "--socket-path", socketPath]),
    }).toEqual({
      directory: { mode: "2710", gid: USERS },
      socket: { mode: "660", gid: USERS },
      logged: true,
      want: { stdout: 'Unit "app" declared dependencies: [db]\n', stderr: "", exitCode: 0 },
      start: { stdout: 'Unit "db" started with no dependencies\n', stderr: "", exitCode: 0 },
      complete: { stdout: "Success\n", stderr: "", exitCode: 0 },
      outsider: denied(socketPath),
    });
  });

  test("serve --group opens its own private directory from an earlier run, and refuses a directory the group cannot enter", async () => {
    using dir = tempDir();
    const earlier = join(dir.path, "earlier");
    mkdirSync(earlier, { mode: 0o700 });
    const socketPath = join(earlier, "unitsync.sock");
    await using server = new Child([BINARY, "serve", "--socket-path", socketPath, "--group", String(USERS)], { env: testEnv() });
    await waitUntilAnswering(socketPath, server);
    expect(modeOf(earlier)).toEqual({ mode: "2710", gid: USERS });

    const closed = join(dir.path, "closed");
    mkdirSync(closed);
    chmodSync(closed, 0o750); // group root: users may not enter
    expect(await run(["serve", "--socket-path", join(closed, "unitsync.sock"), "--group", "users"])).toEqual({
      stdout: "",
      stderr: `error: group ${USERS} cannot reach the socket: ${closed} is mode 750 and group 0; choose another --socket-path\n`,
      exitCode: 1,
    });
  });

  test.each([
    ["a directory owned by another user", "dir"],
    ["a stale socket owned by another user", "socket"],
  ] as const)("%s is refused, even to root", async (_, planted) => {
    using dir = tempDir();
    const theirs = join(dir.path, "theirs");
    mkdirSync(theirs, { mode: 0o700 });
    const socketPath = join(theirs, "unitsync.sock");
    if (planted === "socket") {
      Bun.spawnSync(["python3", "-c", `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(socketPath)})`]);
      chownSync(socketPath, NOBODY, NOBODY);
    } else {
      chownSync(theirs, NOBODY, NOBODY);
    }
    const message =
      planted === "dir"
        ? `socket directory ${theirs} belongs to uid ${NOBODY}, not to you (uid 0); choose another --socket-path`
        : `${socketPath} belongs to uid ${NOBODY}, not to you (uid 0); choose another --socket-path`;
    expect(await run(["serve", "--socket-path", socketPath])).toEqual({ stdout: "", stderr: `error: ${message}\n`, exitCode: 1 });
    expect(lstatSync(socketPath, { throwIfNoEntry: false })?.isSocket() ?? false).toBe(planted === "socket");
  });

  test("a group the server is not in, or one that does not exist, is a usage error", async () => {
    using dir = tempDir();
    const binary = sharedBinary(dir.path);
    const socketPath = join(dir.path, "unitsync.sock");
    expect({
      notMember: await asNobody(binary, NOBODY, ["serve", "--socket-path", socketPath, "--group", "users"]),
      missing: await run(["serve", "--socket-path", socketPath, "--group", "no-such-group"]),
    }).toEqual({
      notMember: {
        stdout: "",
        stderr: 'error: you are not a member of group "users"; the server can only share its socket with a group it belongs to\n',
        exitCode: 2,
      },
      missing: { stdout: "", stderr: 'error: no group named "no-such-group" in /etc/group; give a group name or number\n', exitCode: 2 },
    });
  });
});
