// Exit codes and error lines of the client commands: 1 refused, 2 usage, 4 timeout,
// 5 no server; each error one line on stderr, nothing on stdout unless the command got going.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testEnv, type Result } from "../helpers.ts";
import { ok, run, serve } from "./_bash.ts";

const fail = (exitCode: number, stderr: string, stdout = ""): Result => ({ stdout, stderr: `${stderr}\n`, exitCode });

const START_USAGE = "usage: unitsync start <unit> [--timeout 5m] [--report-every 30s]";
const WANT_USAGE = "usage: unitsync want <unit> <dependency> [dependency...] [--requires success|completion|started]";

interface ErrorCase {
  name: string;
  setup?: string[][];
  args: string[];
  expected: Result;
}

const longName = "x".repeat(256);
const longMultibyteName = "é".repeat(128); // 128 characters, 256 bytes

const cases: ErrorCase[] = [
  {
    name: "start times out",
    setup: [["want", "w", "never"]],
    args: ["start", "w", "--timeout", "300ms"],
    expected: fail(
      4,
      "error: timeout waiting for dependencies of unit 'w'",
      `Unit "w" is waiting for dependencies to be satisfied: [never]\n`,
    ),
  },
  {
    name: "a bad duration",
    args: ["start", "w", "--timeout", "soon"],
    expected: fail(2, `error: invalid duration "soon" for --timeout: use e.g. 30s, 5m or 1h (0 waits for ever); ${START_USAGE}`),
  },
  {
    name: "a negative duration",
    args: ["start", "w", "--timeout", "-5s"],
    expected: fail(2, `error: invalid duration "-5s" for --timeout: use e.g. 30s, 5m or 1h (0 waits for ever); ${START_USAGE}`),
  },
  {
    name: "--timeout without a value",
    args: ["start", "w", "--timeout"],
    expected: fail(2, `error: option --timeout needs a value; ${START_USAGE}`),
  },
  { name: "start with no unit", args: ["start"], expected: fail(2, `error: exactly one unit name is required; ${START_USAGE}`) },
  {
    name: "start with two units",
    args: ["start", "a", "b"],
    expected: fail(2, `error: exactly one unit name is required; ${START_USAGE}`),
  },
  {
    name: "want with one argument",
    args: ["want", "a"],
    expected: fail(2, `error: at least two arguments are required: unit and one or more depends-on; ${WANT_USAGE}`),
  },
  {
    name: "complete with no unit",
    args: ["complete"],
    expected: fail(2, "error: exactly one unit name is required; usage: unitsync complete <unit> [--exit-code N | --when PROBE [--status N] [--timeout 5m]]"),
  },
  {
    name: "status with no unit",
    args: ["status"],
    expected: fail(2, "error: exactly one unit name is required; usage: unitsync status <unit> [-o table|json]"),
  },
  {
    name: "list with an argument",
    args: ["list", "extra"],
    expected: fail(2, "error: list takes no arguments; usage: unitsync list [-o table|json]"),
  },
  {
    name: "an unknown command",
    args: ["frobnicate"],
    expected: fail(
      2,
      `error: unknown command "frobnicate"; the commands are serve, ping, want, start, complete, fail, target, first, run, lock, locks, status, list, events, graph, timeline, up, compare; run "unitsync --help" for usage`,
    ),
  },
  {
    name: "an unknown flag",
    args: ["start", "w", "--bogus"],
    expected: fail(2, `error: unknown option --bogus; ${START_USAGE}`),
  },
  {
    name: "a bad output format",
    args: ["list", "-o", "yaml"],
    expected: fail(2, `error: option -o must be one of table, json, not "yaml"; usage: unitsync list [-o table|json]`),
  },
  {
    name: "a cycle a -> b -> c -> a",
    setup: [["want", "a", "b"], ["want", "b", "c"]],
    args: ["want", "c", "a"],
    expected: fail(1, "error: declare dependency failed: adding edge (c -> a): cycle detected: c -> a -> b -> c"),
  },
  {
    name: "a unit wanting itself",
    args: ["want", "a", "a"],
    expected: fail(1, "error: declare dependency failed: adding edge (a -> a): cycle detected: a -> a"),
  },
  {
    name: "complete of an unregistered unit",
    args: ["complete", "nobody"],
    expected: fail(1, `error: complete unit failed: unit "nobody" is not registered; "want" or "start" registers a unit`),
  },
  {
    name: "complete twice",
    setup: [["start", "a"], ["complete", "a"]],
    args: ["complete", "a"],
    expected: fail(1, `error: complete unit failed: unit "a" is already completed`),
  },
  {
    name: "start twice",
    setup: [["start", "a"]],
    args: ["start", "a"],
    expected: fail(1, `error: start unit failed: unit "a" is already started`),
  },
  {
    name: "an empty unit name",
    args: ["start", ""],
    expected: fail(2, `error: unit name is required (got an empty string); ${START_USAGE}`),
  },
  {
    name: "an empty dependency name",
    args: ["want", "a", ""],
    expected: fail(2, `error: unit name is required (got an empty string); ${WANT_USAGE}`),
  },
  {
    name: "a unit name over 255 bytes",
    args: ["start", longName],
    expected: fail(2, "error: unit name is 256 bytes long; the limit is 255"),
  },
  {
    name: "a unit name over 255 bytes in 128 characters",
    args: ["want", longMultibyteName, "dep"],
    expected: fail(2, "error: unit name is 256 bytes long; the limit is 255"),
  },
  {
    name: "a unit name with a tab",
    args: ["start", "a\tb"],
    expected: fail(2, `error: unit name "a\\tb" contains a control character`),
  },
  {
    name: "a dependency name with a newline",
    args: ["want", "a", "b\nc"],
    expected: fail(2, `error: dependency name "b\\nc" contains a control character`),
  },
  {
    name: "a unit name with DEL",
    args: ["complete", "a\x7f"],
    expected: fail(2, `error: unit name "a\\u007f" contains a control character`),
  },
];

describe("refusals and usage errors", () => {
  test.each(cases)("$name", async ({ setup = [], args, expected }) => {
    await using served = await serve();
    for (const step of setup) expect({ step, exitCode: (await served.run(...step)).exitCode }).toEqual({ step, exitCode: 0 });
    expect(await served.run(...args)).toEqual(expected);
  });

  test("a unit name of exactly 255 bytes is accepted", async () => {
    await using served = await serve();
    const name = "y".repeat(255);
    expect(await served.run("start", name)).toEqual(ok(`Unit "${name}" started with no dependencies\n`));
  });

  test("--timeout 0 waits until the dependency completes", async () => {
    await using served = await serve();
    await served.run("want", "w", "dep");
    await using start = served.spawn("start", "w", "--timeout", "0");
    await start.waitForStdout("is waiting");
    await served.run("start", "dep");
    await served.run("complete", "dep");
    expect(await start.result).toEqual(
      ok(`Unit "w" is waiting for dependencies to be satisfied: [dep]\nUnit "w" finished waiting for dependencies: [dep]\n`),
    );
  });
});

describe("no server", () => {
  const dir = mkdtempSync(join(tmpdir(), "unitsync-e2e-"));
  const nowhere = join(dir, "nobody-here.sock");
  const hint = `start one with "unitsync serve", or point --socket-path or UNITSYNC_SOCKET_PATH at a running one`;
  const expected = fail(5, `error: no unitsync server at ${nowhere} (no socket file there); ${hint}`);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const commands = [["ping"], ["list"], ["status", "a"], ["want", "a", "b"], ["start", "a"], ["complete", "a"]];
  test.each(commands.map((args) => ({ command: args.join(" "), args })))(
    "$command exits 5 and says how to start a server",
    async ({ args }) => {
      expect(await run([...args, "--socket-path", nowhere])).toEqual(expected);
    },
  );

  test("the same through UNITSYNC_SOCKET_PATH", async () => {
    expect(await run(["ping"], testEnv({ UNITSYNC_SOCKET_PATH: nowhere }))).toEqual(expected);
  });

  test.each([
    ["a directory", (dir: string) => dir, "the file is not a socket"],
    ["a path under a regular file", (dir: string) => join(dir, "file", "x.sock"), "a path component is not a directory"],
    ["a file system that holds no sockets", () => "/proc/self/u.sock", "no socket file there"],
    ["a path too long for a socket", (dir: string) => join(dir, "x".repeat(120)), "the path is longer than a Unix socket allows, 107 bytes"],
  ])("at %s: exit 5, one line that says why", async (_, path, reason) => {
    writeFileSync(join(dir, "file"), "");
    const socketPath = path(dir);
    expect(await run(["list", "--socket-path", socketPath])).toEqual(
      fail(5, `error: no unitsync server at ${socketPath} (${reason}); ${hint}`),
    );
  });

  test("an empty --socket-path is a usage error, not the default path", async () => {
    expect(await run(["ping", "--socket-path", ""], testEnv({ UNITSYNC_SOCKET_PATH: nowhere }))).toEqual(
      fail(2, "error: --socket-path is empty: give a socket path, or leave the flag out for $UNITSYNC_SOCKET_PATH or the default"),
    );
  });

  test("a socket file nobody listens on", async () => {
    await using served = await serve();
    served.server.kill("SIGKILL"); // leaves its socket file behind
    await served.server.result;
    expect(await served.run("ping")).toEqual(
      fail(5, `error: no unitsync server at ${served.socketPath} (nothing is listening on the socket file); ${hint}`),
    );
  });

});

interface SocketPathCase {
  name: string;
  args: (socketPath: string) => string[];
  /** What UNITSYNC_SOCKET_PATH holds: the server's path, a wrong one, or nothing. */
  env?: "server" | "wrong";
}

const socketPathCases: SocketPathCase[] = [
  { name: "--socket-path before the command", args: (p) => ["--socket-path", p, "start", "u"] },
  { name: "--socket-path after the arguments", args: (p) => ["start", "u", "--socket-path", p] },
  { name: "--socket-path=PATH", args: (p) => ["start", "u", `--socket-path=${p}`] },
  { name: "UNITSYNC_SOCKET_PATH", args: () => ["start", "u"], env: "server" },
  { name: "--socket-path over UNITSYNC_SOCKET_PATH", args: (p) => ["start", "u", "--socket-path", p], env: "wrong" },
];

describe("the socket path", () => {
  test.each(socketPathCases)("$name", async ({ args, env }) => {
    await using served = await serve();
    const socket = { server: served.socketPath, wrong: join(served.dir, "wrong.sock") };
    const result = await run(args(served.socketPath), testEnv(env ? { UNITSYNC_SOCKET_PATH: socket[env] } : {}));
    expect({ result, list: (await served.run("list")).stdout }).toEqual({
      result: ok(`Unit "u" started with no dependencies\n`),
      list: "UNIT  STATUS   READY  \nu     started  true   \n",
    });
  });
});
