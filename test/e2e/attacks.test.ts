// A hostile local user against the socket's surroundings: planted directories and sockets,
// symbolic links swapped in while the server starts, a squatted lock. The attacker is
// `nobody`, reached with setpriv, so most of these need root (CI runs as root).
import { describe, expect, test } from "bun:test";
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { resolve, join } from "node:path";
import { VERSION } from "../../src/protocol/index.ts";
import { BINARY, tempDir, testEnv, type Result } from "../helpers.ts";
import { Child, run, waitUntilAnswering } from "./_bash.ts";
import { as, describeAsOtherUsers, NOBODY, sharedBinary, USERS } from "./_users.ts";

/** A directory with exactly this owner and mode (chmod after mkdir: the umask does not trim it). */
function directory(path: string, mode: number, uid = 0, gid = 0): string {
  mkdirSync(path);
  chownSync(path, uid, gid);
  chmodSync(path, mode);
  return path;
}

/** A sticky, world-writable directory of root's, like /tmp. */
const sharedTmp = (parent: string) => directory(join(parent, "tmp"), 0o1777);

const refused = (message: string, exitCode = 1): Result => ({ stdout: "", stderr: `error: ${message}\n`, exitCode });

/** Runs `serve` and reports its refusal, or kills it and says it served: a served path is the failure being looked for. */
async function serveOutcome(args: string[]): Promise<Result | "served"> {
  await using server = new Child([BINARY, "serve", ...args]);
  const socketPath = args[args.indexOf("--socket-path") + 1]!;
  const answering = waitUntilAnswering(socketPath, server).then(
    () => "served" as const,
    () => undefined,
  );
  const outcome = await Promise.race([server.result, answering]);
  return outcome ?? (await server.result);
}

const stateOf = (path: string) => {
  const stat = lstatSync(path);
  return { uid: stat.uid, gid: stat.gid, mode: (stat.mode & 0o7777).toString(8), text: readFileSync(path, "utf8") };
};

describeAsOtherUsers("a hostile local user", () => {
  test.each([
    ["serve --group, a directory the group can write", 0o770, USERS, ["--group", "users"]],
    ["serve, a directory anyone can write", 0o777, 0, []],
  ] as const)(
    "%s: refused, and 40 rounds of symlink swaps at the socket path change no file outside it",
    async (_, mode, group, flags) => {
      using dir = tempDir();
      chmodSync(dir.path, 0o755);
      const shared = directory(join(dir.path, "shared"), mode, 0, group);
      const secret = join(dir.path, "secret");
      writeFileSync(secret, "root only\n", { mode: 0o600 });
      const before = stateOf(secret);
      const socketPath = join(shared, "unitsync.sock");
      // The attacker swaps the socket for a link to the secret, and back, as fast as it can.
      const loop = `while :; do ln -sfn ${secret} ${socketPath}.new && mv -fT ${socketPath}.new ${socketPath}; rm -f ${socketPath}; done`;
      await using attacker = as(NOBODY, USERS, ["bash", "-c", loop]);
      const outcomes = new Set<string>();
      for (let round = 0; round < 40; round++) {
        outcomes.add(JSON.stringify(await serveOutcome(["--socket-path", socketPath, ...flags])));
      }
      expect({ outcomes: [...outcomes].map((text) => JSON.parse(text)), secret: stateOf(secret), attacking: attacker.running }).toEqual({
        outcomes: [
          refused(
            `socket directory ${shared} is mode ${mode.toString(8)}: others could replace the socket; run "chmod go-w ${shared}" or choose another --socket-path`,
          ),
        ],
        secret: before,
        attacking: true,
      });
    },
  );

  describe("a socket directory is accepted only if it is safe all the way down", () => {
    const unsafe = (directory: string, why: string) =>
      refused(`socket directory ${directory} is not safe: ${why}; choose another --socket-path`);

    test.each([
      [
        "a symbolic link of another user's in a shared directory",
        (root: string) => {
          const tmp = sharedTmp(root);
          directory(join(tmp, "real"), 0o700);
          symlinkSync(join(tmp, "real"), join(tmp, "link"));
          lchownSync(join(tmp, "link"), NOBODY, NOBODY);
          return join(tmp, "link", "unitsync.sock");
        },
        (root: string) => unsafe(join(root, "tmp", "link"), `${root}/tmp/link belongs to uid ${NOBODY}, in the shared directory ${root}/tmp`),
      ],
      [
        "another user's directory in a shared one (made before the server, to catch its clients)",
        (root: string) => join(directory(join(sharedTmp(root), "unitsync-0"), 0o755, NOBODY, NOBODY), "unitsync.sock"),
        (root: string) =>
          unsafe(join(root, "tmp", "unitsync-0"), `${root}/tmp/unitsync-0 belongs to uid ${NOBODY}, in the shared directory ${root}/tmp`),
      ],
      [
        "under a parent anyone can write, without the sticky bit",
        (root: string) => join(directory(join(directory(join(root, "open"), 0o777), "d"), 0o700), "unitsync.sock"),
        (root: string) => unsafe(join(root, "open", "d"), `${root}/open is writable by others (mode 777), who could replace ${root}/open/d`),
      ],
      [
        "under a parent of another user's",
        (root: string) => join(directory(join(directory(join(root, "theirs"), 0o755, NOBODY, NOBODY), "d"), 0o700), "unitsync.sock"),
        (root: string) => unsafe(join(root, "theirs", "d"), `${root}/theirs belongs to uid ${NOBODY}, who could replace ${root}/theirs/d`),
      ],
      [
        "its own directory, left writable by its group",
        (root: string) => join(directory(join(root, "loose"), 0o770, 0, USERS), "unitsync.sock"),
        (root: string) =>
          refused(`socket directory ${root}/loose is mode 770: others could replace the socket; run "chmod go-w ${root}/loose" or choose another --socket-path`),
      ],
    ] as const)("refused: %s", async (_, setUp, expected) => {
      using dir = tempDir();
      chmodSync(dir.path, 0o755);
      const socketPath = setUp(dir.path);
      expect(await serveOutcome(["--socket-path", socketPath])).toEqual(expected(dir.path));
    });

    test.each([
      ["directly in a shared sticky directory, like /tmp", (root: string) => join(sharedTmp(root), "agent.sock"), "600"],
      [
        "through a link of root's in a directory only root can write",
        (root: string) => {
          directory(join(root, "real"), 0o700);
          symlinkSync(join(root, "real"), join(root, "link"));
          return join(root, "link", "unitsync.sock");
        },
        "600",
      ],
      ["in directories it creates, each 0700", (root: string) => join(sharedTmp(root), "a", "b", "unitsync.sock"), "600"],
    ] as const)("accepted: %s", async (_, setUp, mode) => {
      using dir = tempDir();
      chmodSync(dir.path, 0o755);
      const socketPath = setUp(dir.path);
      await using server = new Child([BINARY, "serve", "--socket-path", socketPath]);
      await waitUntilAnswering(socketPath, server);
      const made = socketPath.includes("/a/b/") ? [join(dir.path, "tmp", "a"), join(dir.path, "tmp", "a", "b")] : [];
      expect({
        socket: (lstatSync(socketPath).mode & 0o777).toString(8),
        made: made.map((path) => (lstatSync(path).mode & 0o7777).toString(8)),
      }).toEqual({ socket: mode, made: made.map(() => "700") });
    });

    test("serve --group needs a directory of its own, not a shared sticky one", async () => {
      using dir = tempDir();
      const tmp = sharedTmp(dir.path);
      expect(await serveOutcome(["--socket-path", join(tmp, "agent.sock"), "--group", "users"])).toEqual(
        refused(
          `serve --group needs a socket directory of its own, not the shared ${tmp}: use e.g. --socket-path ${tmp}/unitsync-shared/unitsync.sock`,
          2,
        ),
      );
    });
  });

  describe("clients check before they trust", () => {
    test("another user's server planted at a user's default path: the user's start is refused and the planted server hears nothing", async () => {
      using dir = tempDir();
      const binary = sharedBinary(dir.path);
      // A user of its own, so the default path is one no other test or server uses.
      const victim = 40_000 + Math.floor(Math.random() * 20_000);
      const planted = `/tmp/unitsync-${victim}`;
      const socketPath = `${planted}/unitsync.sock`;
      rmSync(planted, { recursive: true, force: true });
      try {
        expect(await as(NOBODY, NOBODY, ["mkdir", "-m", "755", planted]).result).toEqual({ stdout: "", stderr: "", exitCode: 0 });
        await using fake = as(NOBODY, NOBODY, [binary, "serve", "--socket-path", socketPath]);
        await fake.waitForStderr("serving on");
        const why = `${planted} belongs to uid ${NOBODY}, in the shared directory /tmp`;
        expect({
          start: await as(victim, victim, [binary, "start", "claude"]).result,
          serve: await as(victim, victim, [binary, "serve"]).result,
          heard: (await as(NOBODY, NOBODY, [binary, "events", "-o", "json", "--socket-path", socketPath]).result).stdout,
        }).toEqual({
          start: refused(
            `refusing to talk to ${socketPath}: ${why}, so someone else could be answering; remove what they made, or point --socket-path at a directory of your own`,
            5,
          ),
          serve: refused(`socket directory ${planted} is not safe: ${why}; choose another --socket-path`),
          heard: "[]\n",
        });
      } finally {
        rmSync(planted, { recursive: true, force: true });
      }
    });

    test("a socket of another user's directly in a shared sticky directory is refused; one of the user's own is used", async () => {
      using dir = tempDir();
      const binary = sharedBinary(dir.path);
      const tmp = sharedTmp(dir.path);
      const theirs = join(tmp, "agent.sock");
      await using fake = as(NOBODY, NOBODY, [binary, "serve", "--socket-path", theirs]);
      await fake.waitForStderr("serving on");
      const mine = join(tmp, "mine.sock");
      await using server = new Child([BINARY, "serve", "--socket-path", mine]);
      await waitUntilAnswering(mine, server);
      expect({
        theirs: await run(["want", "a", "b", "--socket-path", theirs]),
        mine: await run(["want", "a", "b", "--socket-path", mine]),
        heard: (await as(NOBODY, NOBODY, [binary, "list", "-o", "json", "--socket-path", theirs]).result).stdout,
      }).toEqual({
        theirs: refused(
          `refusing to talk to ${theirs}: ${theirs} belongs to uid ${NOBODY}, in the shared directory ${tmp}, so someone else could be answering; remove what they made, or point --socket-path at a directory of your own`,
          5,
        ),
        mine: { stdout: 'Unit "a" declared dependencies: [b]\n', stderr: "", exitCode: 0 },
        heard: "[]\n",
      });
    });

    test("a planted directory that appears while a client waits for its server is refused on the next try", async () => {
      using dir = tempDir();
      const binary = sharedBinary(dir.path);
      const tmp = sharedTmp(dir.path);
      const socketPath = join(tmp, "late", "unitsync.sock");
      await using client = new Child([BINARY, "want", "a", "b", "--socket-path", socketPath, "--wait-for-server", "20s"]);
      expect(await as(NOBODY, NOBODY, ["mkdir", "-m", "755", join(tmp, "late")]).result).toMatchObject({ exitCode: 0 });
      await using fake = as(NOBODY, NOBODY, [binary, "serve", "--socket-path", socketPath]);
      expect(await client.result).toEqual(
        refused(
          `refusing to talk to ${socketPath}: ${tmp}/late belongs to uid ${NOBODY}, in the shared directory ${tmp}, so someone else could be answering; remove what they made, or point --socket-path at a directory of your own`,
          5,
        ),
      );
      await fake.waitForStderr("serving on");
      expect((await as(NOBODY, NOBODY, [binary, "list", "-o", "json", "--socket-path", socketPath]).result).stdout).toBe("[]\n");
    });

    test("serve --group as another user: a member who names the path is let in", async () => {
      using dir = tempDir();
      const binary = sharedBinary(dir.path);
      const tmp = sharedTmp(dir.path);
      const socketPath = join(tmp, "team", "unitsync.sock");
      await using server = as(NOBODY, USERS, [binary, "serve", "--group", "users", "--socket-path", socketPath]);
      await server.waitForStderr("serving on");
      const member = 40_000 + Math.floor(Math.random() * 20_000);
      expect({
        member: await as(member, USERS, [binary, "want", "a", "b", "--socket-path", socketPath]).result,
        byEnvironment: await as(member, USERS, [binary, "complete", "a"], { UNITSYNC_SOCKET_PATH: socketPath }).result,
      }).toEqual({
        member: { stdout: 'Unit "a" declared dependencies: [b]\n', stderr: "", exitCode: 0 },
        byEnvironment: { stdout: "Success\n", stderr: "", exitCode: 0 },
      });
    });
  });

  test("the default path is in XDG_RUNTIME_DIR when it is the user's own", async () => {
    using dir = tempDir();
    const runtimeDir = directory(join(dir.path, "run"), 0o700);
    const env = testEnv({ XDG_RUNTIME_DIR: runtimeDir });
    await using server = new Child([BINARY, "serve"], { env });
    const socketPath = join(runtimeDir, "unitsync", "unitsync.sock");
    await waitUntilAnswering(socketPath, server);
    expect((await run(["ping"], env)).stdout).toStartWith(
      `Success: unitsync ${VERSION} (pid ${server.pid}) on ${socketPath} (the default in $XDG_RUNTIME_DIR), up `,
    );
  });
});

test("a lock name squatted by anyone does not keep the server from starting", async () => {
  using dir = tempDir();
  const socketPath = join(dir.path, "unitsync.sock");
  // Where unitsync 0.1.0 kept its single-instance lock: an abstract socket anyone could bind first.
  const squatter = Bun.listen({
    unix: `\0unitsync-serve-${Bun.hash(resolve(socketPath)).toString(16)}`,
    socket: { data() {} },
  });
  try {
    await using server = new Child([BINARY, "serve", "--socket-path", socketPath]);
    await waitUntilAnswering(socketPath, server);
    expect((await run(["list", "-o", "json", "--socket-path", socketPath])).stdout).toBe("[]\n");
  } finally {
    squatter.stop(true);
  }
});
