// `unitsync run`: declare, wait, run a command with the terminal's stdio, and record its
// outcome; its exit status is the command's, and signals reach the command.
import { describe, expect, test } from "bun:test";
import { constants } from "node:os";
import { join } from "node:path";
import { waitUntil, type Result } from "../helpers.ts";
import { ok, serve, type Served } from "./_bash.ts";

const GIT_FATAL = "fatal: repository '/nonexistent/repo' does not exist\n";
const lines = (...all: string[]) => `${all.join("\n")}\n`;
const RUN_USAGE = "usage: unitsync run <unit> [--after DEP]... [--requires R] [--lock NAME] [--timeout D] [--report-every D] -- CMD [ARGS...]";

/** A unit's status and reason as `status -o json` gives them. */
async function outcome(served: Served, unit: string): Promise<{ status: string; reason?: string }> {
  const { status, reason } = JSON.parse((await served.run("status", unit, "-o", "json")).stdout);
  return reason === undefined ? { status } : { status, reason };
}

interface OutcomeCase {
  name: string;
  script: string;
  expected: Result;
  outcome: { status: string; reason?: string };
}

const outcomeCases: OutcomeCase[] = [
  {
    name: "a command that succeeds completes the unit; its stdout and stderr are its own",
    script: `unitsync run build -- bash -c 'echo built; echo "1 warning" >&2'`,
    expected: { stdout: "built\n", stderr: "1 warning\n", exitCode: 0 },
    outcome: { status: "completed" },
  },
  {
    name: "a command that fails fails the unit with its exit code, and run exits with it",
    script: `unitsync run build -- bash -c 'echo "2 errors" >&2; exit 7'`,
    expected: { stdout: "", stderr: "2 errors\n", exitCode: 7 },
    outcome: { status: "failed", reason: "exit code 7" },
  },
  {
    name: "exit statuses above 128 pass through unchanged",
    script: `unitsync run build -- bash -c 'exit 200'`,
    expected: { stdout: "", stderr: "", exitCode: 200 },
    outcome: { status: "failed", reason: "exit code 200" },
  },
  {
    name: "a real git clone of a missing repository: exit code 128",
    script: `unitsync run build -- git clone /nonexistent/repo x`,
    expected: { stdout: "", stderr: GIT_FATAL, exitCode: 128 },
    outcome: { status: "failed", reason: "exit code 128" },
  },
  {
    name: "arguments after -- that look like flags go to the command (echo --help)",
    script: `unitsync run build -- echo hello --help`,
    expected: ok("hello --help\n"),
    outcome: { status: "completed" },
  },
  {
    name: "run's own flags after -- go to the command too",
    script: `unitsync run build -- printf '%s\\n' --after x --timeout 1s --socket-path /nowhere -h -- --help`,
    expected: ok(lines("--after", "x", "--timeout", "1s", "--socket-path", "/nowhere", "-h", "--", "--help")),
    outcome: { status: "completed" },
  },
  {
    name: "stdin is the script's",
    script: `echo "from the pipe" | unitsync run build -- cat`,
    expected: ok("from the pipe\n"),
    outcome: { status: "completed" },
  },
  {
    name: "a command given by a relative path",
    script: `printf '#!/bin/sh\\necho "tool $1"\\n' > tool.sh; chmod +x tool.sh\nunitsync run build -- ./tool.sh ran`,
    expected: ok("tool ran\n"),
    outcome: { status: "completed" },
  },
  {
    name: "a command that does not exist: exit 127, unit failed",
    script: `unitsync run build -- no-such-command-here --flag`,
    expected: { stdout: "", stderr: "error: command not found: no-such-command-here\n", exitCode: 127 },
    outcome: { status: "failed", reason: "command not found: no-such-command-here" },
  },
  {
    name: "a file that is there but not executable: exit 126, like a shell",
    script: `printf 'echo hi\\n' > plain.sh\nunitsync run build -- ./plain.sh`,
    expected: { stdout: "", stderr: "error: permission denied: ./plain.sh\n", exitCode: 126 },
    outcome: { status: "failed", reason: "permission denied: ./plain.sh" },
  },
  {
    name: "--requires without --after: usage error, nothing registered",
    script: `unitsync run build --requires completion -- true`,
    expected: { stdout: "", stderr: `error: --requires goes with --after; ${RUN_USAGE}\n`, exitCode: 2 },
    outcome: { status: "not registered" },
  },
  {
    name: "no -- at all: usage error, nothing registered",
    script: `unitsync run build echo hi`,
    expected: { stdout: "", stderr: `error: exactly one unit name is required before --; ${RUN_USAGE}\n`, exitCode: 2 },
    outcome: { status: "not registered" },
  },
  {
    name: "no command: usage error, nothing registered",
    script: `unitsync run build`,
    expected: { stdout: "", stderr: `error: the command to run goes after --; ${RUN_USAGE}\n`, exitCode: 2 },
    outcome: { status: "not registered" },
  },
  {
    name: "nothing after --: usage error, nothing registered",
    script: `unitsync run build --`,
    expected: { stdout: "", stderr: `error: no command after --; ${RUN_USAGE}\n`, exitCode: 2 },
    outcome: { status: "not registered" },
  },
];

describe("run records the command's outcome and exits with its status", () => {
  test.each(outcomeCases)("$name", async ({ script, expected, outcome: expectedOutcome }) => {
    await using served = await serve();
    const result = await served.bash(script).result;
    expect({ result, outcome: await outcome(served, "build") }).toEqual({ result: expected, outcome: expectedOutcome });
  });
});

interface SignalCase {
  signal: NodeJS.Signals;
  handled: boolean;
  exitCode: number;
  reason: string;
}

const signalCases: SignalCase[] = [
  { signal: "SIGTERM", handled: true, exitCode: 42, reason: "exit code 42" },
  { signal: "SIGINT", handled: true, exitCode: 42, reason: "exit code 42" },
  { signal: "SIGHUP", handled: true, exitCode: 42, reason: "exit code 42" },
  { signal: "SIGTERM", handled: false, exitCode: 143, reason: "killed by SIGTERM" },
  { signal: "SIGINT", handled: false, exitCode: 130, reason: "killed by SIGINT" },
  { signal: "SIGHUP", handled: false, exitCode: 129, reason: "killed by SIGHUP" },
];

describe("run forwards signals to the command", () => {
  test.each(signalCases)("$signal, handled by the command: $handled", async ({ signal, handled, exitCode, reason }) => {
    await using served = await serve();
    // The handling command traps the signal and exits 42; the other one is `sleep`, killed by it.
    const command = handled
      ? `trap 'echo "got ${signal}"; exit 42' ${signal.slice(3)}; echo ready; while :; do sleep 0.05; done`
      : "echo ready; exec sleep 60";
    await using run = served.spawn("run", "svc", "--", "bash", "-c", command);
    await run.waitForStdout("ready");
    // run forwards only once its handler is in place; a signal before that would kill run itself.
    await waitUntilCatching(run.pid, signal);
    run.kill(signal); // to run only: the command sees the signal only if run forwards it
    expect({ result: await run.result, outcome: await outcome(served, "svc") }).toEqual({
      result: { stdout: handled ? `ready\ngot ${signal}\n` : "ready\n", stderr: "", exitCode },
      outcome: { status: "failed", reason },
    });
  });
});

/** Waits until `pid` has a handler for `signal` (Linux: the SigCgt mask in /proc/PID/status). */
async function waitUntilCatching(pid: number, signal: NodeJS.Signals): Promise<void> {
  const bit = 1n << BigInt(constants.signals[signal] - 1);
  await waitUntil(
    async () => {
      const status = await Bun.file(`/proc/${pid}/status`).text();
      const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0";
      return (BigInt(`0x${caught}`) & bit) !== 0n;
    },
    10_000,
    `process ${pid} to catch ${signal}`,
  );
}

const marker = (served: Served) => join(served.dir, "ran");
const exists = (path: string) => Bun.file(path).exists();

describe("run waits for its dependencies", () => {
  test("released when the dependency completes, then runs the command", async () => {
    await using served = await serve();
    await using run = served.spawn("run", "api", "--after", "db", "--after", "cache", "--", "bash", "-c", "echo api up");
    await run.waitForStderr("is waiting");
    for (const step of [["start", "db"], ["complete", "db"], ["start", "cache"], ["complete", "cache"]]) await served.run(...step);
    expect({ result: await run.result, outcome: await outcome(served, "api") }).toEqual({
      result: { stdout: "api up\n", stderr: `Unit "api" is waiting for dependencies to be satisfied: [cache, db]\n`, exitCode: 0 },
      outcome: { status: "completed" },
    });
  });

  test("the issue's example with run: a failing clone stops the waiting run of claude; claude never runs", async () => {
    await using served = await serve();
    await using claude = served.bash(`unitsync run claude --after git-clone -- touch ran`);
    await claude.waitForStderr("is waiting");
    const git = await served.bash(`unitsync run git-clone -- git clone /nonexistent/repo x`).result;
    expect({
      git,
      claude: await claude.result,
      ran: await exists(marker(served)),
      outcome: await outcome(served, "claude"),
    }).toEqual({
      git: { stdout: "", stderr: GIT_FATAL, exitCode: 128 },
      claude: {
        stdout: "",
        stderr: lines(
          `Unit "claude" is waiting for dependencies to be satisfied: [git-clone]`,
          `error: claude: dependency "git-clone" failed: exit code 128`,
        ),
        exitCode: 3,
      },
      ran: false,
      outcome: { status: "failed", reason: `dependency "git-clone" failed: exit code 128` },
    });
  });

  test("a dependency that already failed: exit 3 at once, the command does not run", async () => {
    await using served = await serve();
    await served.run("fail", "git-clone", "--reason", "exit code 128");
    expect({ result: await served.bash(`unitsync run claude --after git-clone -- touch ran`).result, ran: await exists(marker(served)) }).toEqual({
      result: { stdout: "", stderr: `error: claude: dependency "git-clone" failed: exit code 128\n`, exitCode: 3 },
      ran: false,
    });
  });

  test("--requires completion runs the command after the dependency failed", async () => {
    await using served = await serve();
    await served.run("fail", "tests", "--reason", "3 tests failed");
    expect({
      result: await served.bash(`unitsync run report --after tests --requires completion -- echo report`).result,
      outcome: await outcome(served, "report"),
    }).toEqual({ result: ok("report\n"), outcome: { status: "completed" } });
  });

  test("a timeout: exit 4, the command does not run, the unit fails naming what it waited for", async () => {
    await using served = await serve();
    await served.run("start", "db");
    await served.run("complete", "db");
    const result = await served.bash(`unitsync run api --after db --after never --timeout 300ms -- touch ran`).result;
    expect({ result, ran: await exists(marker(served)), outcome: await outcome(served, "api") }).toEqual({
      result: {
        stdout: "",
        stderr: lines(
          `Unit "api" is waiting for dependencies to be satisfied: [never]`,
          `error: timeout waiting for dependencies of unit 'api'`,
        ),
        exitCode: 4,
      },
      ran: false,
      outcome: { status: "failed", reason: "timed out waiting for dependencies: [never]" },
    });
  });

  test("running a failed unit again is a retry: it re-arms the units it stopped", async () => {
    await using served = await serve();
    await served.run("want", "claude", "git-clone");
    const failed = await served.bash(`unitsync run git-clone -- false`).result;
    const stopped = await outcome(served, "claude");
    const retried = await served.bash(`unitsync run git-clone -- true`).result;
    expect({ failed, stopped, retried, rearmed: await outcome(served, "claude"), claude: await served.run("start", "claude") }).toEqual({
      failed: { stdout: "", stderr: "", exitCode: 1 },
      stopped: { status: "failed", reason: `dependency "git-clone" failed: exit code 1` },
      retried: ok(""),
      rearmed: { status: "pending" },
      claude: ok(`Unit "claude" started immediately, dependencies already satisfied: [git-clone]\n`),
    });
  });
});
