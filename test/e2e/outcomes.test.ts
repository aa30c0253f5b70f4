// Outcomes through real bash scripts: a failure stops everything downstream that needed its
// success at once, with the reason chain; other requirements release; a retry re-arms.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { withoutTimes, type Result } from "../helpers.ts";
import { logLines, ok, serve, waitedOutput } from "./_bash.ts";

const lines = (...all: string[]) => `${all.join("\n")}\n`;
const declared = (unit: string, deps: string) => `Unit "${unit}" declared dependencies: [${deps}]`;
const waiting = (unit: string, deps: string) => `Unit "${unit}" is waiting for dependencies to be satisfied: [${deps}]`;
const stopped = (stdout: string, stderr: string): Result => ({ stdout, stderr: `${stderr}\n`, exitCode: 3 });

// The issue's example, in the issue's words: claude waits for git-clone; ide waits for claude.
const dependentScript = (unit: string, dependency: string) => `
unitsync want ${unit} ${dependency}
unitsync start ${unit}
echo "running ${unit}" >> log
unitsync complete ${unit}`;

// Scripts run with `set -eu`; this one records git's status itself, so it must not stop at git.
const GIT_SCRIPT = `
set +e
unitsync start git-clone
git clone /nonexistent/repo x
rc=$?
unitsync complete git-clone --exit-code $rc`;

// The trap idiom: whatever ends the script, the unit gets the script's status.
const trapScript = (work: string) => `
trap 'unitsync complete git-clone --exit-code $?' EXIT
unitsync start git-clone
${work}
echo "cloned" >> log`;

const GIT_FATAL = "fatal: repository '/nonexistent/repo' does not exist\n";
const CLAUDE_REASON = `dependency "git-clone" failed: exit code 128`;
const IDE_REASON = `dependency "claude" failed: ${CLAUDE_REASON}`;
// A waiting start that is stopped by a failure exits within this; a hung one would wait 5 min.
const PROMPTLY_MS = 2_000;

const LIST_AFTER_FAILURE = lines(
  "UNIT       STATUS  READY  REASON                                                                    ",
  `claude     failed  false  ${CLAUDE_REASON}                              `,
  "git-clone  failed  true   exit code 128                                                             ",
  `ide        failed  false  ${IDE_REASON}  `,
);

async function fileExists(path: string): Promise<boolean> {
  return Bun.file(path).exists();
}

describe("a failing git clone", () => {
  test("stops claude at once with the reason chain, and ide, which wants claude, transitively", async () => {
    await using served = await serve();
    await using claude = served.bash(dependentScript("claude", "git-clone"));
    await using ide = served.bash(dependentScript("ide", "claude"));
    await Promise.all([claude.waitForStdout("is waiting"), ide.waitForStdout("is waiting")]);

    await using git = served.bash(GIT_SCRIPT);
    const gitResult = await git.result;
    const failedAt = performance.now();
    const [claudeResult, ideResult] = await Promise.all([claude.result, ide.result]);
    expect({
      git: gitResult,
      claude: claudeResult,
      ide: ideResult,
      stoppedPromptly: performance.now() - failedAt < PROMPTLY_MS,
      anyoneRan: await fileExists(join(served.dir, "log")),
      list: await served.run("list"),
    }).toEqual({
      git: {
        stdout: lines(`Unit "git-clone" started with no dependencies`, `Unit "git-clone" marked failed: exit code 128`),
        stderr: GIT_FATAL,
        exitCode: 0,
      },
      claude: stopped(lines(declared("claude", "git-clone"), waiting("claude", "git-clone")), `error: claude: ${CLAUDE_REASON}`),
      ide: stopped(lines(declared("ide", "claude"), waiting("ide", "claude")), `error: ide: ${IDE_REASON}`),
      stoppedPromptly: true,
      anyoneRan: false,
      list: ok(LIST_AFTER_FAILURE),
    });
  });

  test("a later start of a stopped unit exits 3 with the same reason; status and JSON show it", async () => {
    await using served = await serve();
    await served.run("want", "claude", "git-clone");
    await served.run("want", "ide", "claude");
    expect((await served.bash(GIT_SCRIPT).result).exitCode).toBe(0);

    expect({
      claude: await served.run("start", "claude"),
      ide: await served.run("start", "ide"),
      script: await served.bash(dependentScript("claude", "git-clone")).result,
      status: await served.run("status", "claude"),
      json: withoutTimes(JSON.parse((await served.run("list", "-o", "json")).stdout)),
    }).toEqual({
      claude: stopped("", `error: claude: ${CLAUDE_REASON}`),
      ide: stopped("", `error: ide: ${IDE_REASON}`),
      script: stopped(lines(declared("claude", "git-clone")), `error: claude: ${CLAUDE_REASON}`),
      status: ok(
        lines(
          "Unit: claude",
          "Status: failed",
          "Ready: false",
          `Reason: ${CLAUDE_REASON}`,
          "",
          "Dependencies:",
          "DEPENDS ON  REQUIRED STATUS  CURRENT STATUS  SATISFIED  ",
          "git-clone   completed        failed          false      ",
        ),
      ),
      json: [
        { unit_name: "claude", status: "failed", is_ready: false, reason: CLAUDE_REASON },
        { unit_name: "git-clone", status: "failed", is_ready: true, reason: "exit code 128" },
        { unit_name: "ide", status: "failed", is_ready: false, reason: IDE_REASON },
      ],
    });
  });
});

interface TrapCase {
  name: string;
  work: string;
  git: Result;
  claude: Result;
  log: string[];
}

const trapCases: TrapCase[] = [
  {
    name: "set -e stops the script at the failing clone; the trap records exit code 128",
    work: "git clone /nonexistent/repo x",
    git: {
      stdout: lines(`Unit "git-clone" started with no dependencies`, `Unit "git-clone" marked failed: exit code 128`),
      stderr: GIT_FATAL,
      exitCode: 128,
    },
    claude: stopped(lines(declared("claude", "git-clone"), waiting("claude", "git-clone")), `error: claude: ${CLAUDE_REASON}`),
    log: [],
  },
  {
    name: "a clone that works ends the script 0; the trap completes the unit",
    work: [
      "git init -q src",
      "git -C src -c user.name=u -c user.email=u@example.com commit -q --allow-empty -m init",
      "git clone -q src x",
    ].join("\n"),
    git: ok(lines(`Unit "git-clone" started with no dependencies`, "Success")),
    claude: ok(waitedOutput("claude", ["git-clone"])),
    log: ["cloned", "running claude"],
  },
];

describe("the trap idiom with set -e", () => {
  test.each(trapCases)("$name", async ({ work, git, claude, log }) => {
    await using served = await serve();
    await using claudeScript = served.bash(dependentScript("claude", "git-clone"));
    await claudeScript.waitForStdout("is waiting");
    await using gitScript = served.bash(trapScript(work));
    expect({
      git: await gitScript.result,
      claude: await claudeScript.result,
      log: (await fileExists(join(served.dir, "log"))) ? await logLines(join(served.dir, "log")) : [],
    }).toEqual({ git, claude, log });
  });
});

interface RequirementCase {
  name: string;
  requires: "success" | "completion" | "started";
  /** What happens to the dependency `dep` while `w` waits. */
  events: string[][];
  /** How `w`'s script ends: released (and runs) or stopped with this error. */
  stoppedWith?: string;
  /** `w`'s status once its script ended and `after` ran. */
  after?: string[][];
  finalStatus: string;
}

const requirementCases: RequirementCase[] = [
  {
    name: "completion: released when the dependency fails",
    requires: "completion",
    events: [["start", "dep"], ["fail", "dep", "--reason", "3 tests failed"]],
    finalStatus: "completed",
  },
  {
    name: "completion: released when the dependency completes",
    requires: "completion",
    events: [["start", "dep"], ["complete", "dep"]],
    finalStatus: "completed",
  },
  {
    name: "started: released as soon as the dependency starts",
    requires: "started",
    events: [["start", "dep"]],
    finalStatus: "completed",
  },
  {
    name: "started: a unit already released runs on when the dependency then fails",
    requires: "started",
    events: [["start", "dep"]],
    after: [["fail", "dep", "--reason", "crashed later"]],
    finalStatus: "completed",
  },
  {
    name: "started: stopped when the dependency fails before it starts",
    requires: "started",
    events: [["fail", "dep", "--reason", "image pull failed"]],
    stoppedWith: `error: w: dependency "dep" failed: image pull failed`,
    finalStatus: "failed",
  },
  {
    name: "success: stopped when the dependency fails",
    requires: "success",
    events: [["start", "dep"], ["fail", "dep", "--reason", "3 tests failed"]],
    stoppedWith: `error: w: dependency "dep" failed: 3 tests failed`,
    finalStatus: "failed",
  },
];

describe("requirements through the CLI", () => {
  test.each(requirementCases)("$name", async ({ requires, events, stoppedWith, after = [], finalStatus }) => {
    await using served = await serve();
    // Once started, w works until the test completes "gate", so `after` happens while it runs.
    await using w = served.bash(`
unitsync want w dep --requires ${requires}
unitsync start w
unitsync want w-work gate > /dev/null
unitsync start w-work > /dev/null
unitsync complete w`);
    await w.waitForStdout("is waiting");
    for (const event of events) expect({ event, exitCode: (await served.run(...event)).exitCode }).toEqual({ event, exitCode: 0 });
    if (!stoppedWith) {
      await w.waitForStdout("finished waiting");
      for (const event of after) expect({ event, exitCode: (await served.run(...event)).exitCode }).toEqual({ event, exitCode: 0 });
      expect(await served.run("run", "gate", "--", "true")).toEqual(ok(""));
    }
    const head = lines(declared("w", "dep"), waiting("w", "dep"));
    expect({
      w: await w.result,
      status: JSON.parse((await served.run("status", "w", "-o", "json")).stdout).status,
    }).toEqual({
      w: stoppedWith ? stopped(head, stoppedWith) : ok(`${head}${lines(`Unit "w" finished waiting for dependencies: [dep]`, "Success")}`),
      status: finalStatus,
    });
  });

  test("status shows each edge's requirement, and the reason once the unit failed", async () => {
    await using served = await serve();
    for (const step of [
      ["want", "app", "db", "--requires", "started"],
      ["want", "app", "cache", "--requires", "completion"],
      ["want", "app", "config"],
      ["start", "db"],
      ["fail", "cache", "--reason", "disk full"],
    ]) {
      expect({ step, exitCode: (await served.run(...step)).exitCode }).toEqual({ step, exitCode: 0 });
    }
    const table = (configStatus: string, configSatisfied: string) => [
      "DEPENDS ON  REQUIRED STATUS   CURRENT STATUS  SATISFIED  REQUIRES    ",
      "cache       completed|failed  failed          true       completion  ",
      `config      completed         ${configStatus.padEnd(14)}  ${configSatisfied.padEnd(9)}  success     `,
      "db          started           started         true       started     ",
    ];
    const pending = await served.run("status", "app");
    expect(await served.run("fail", "config", "--reason", "missing .env")).toEqual(ok(lines(`Unit "config" marked failed: missing .env`)));
    expect({ pending, failed: await served.run("status", "app") }).toEqual({
      pending: ok(lines("Unit: app", "Status: pending", "Ready: false", "", "Dependencies:", ...table("not registered", "false"))),
      failed: ok(
        lines(
          "Unit: app",
          "Status: failed",
          "Ready: false",
          `Reason: dependency "config" failed: missing .env`,
          "",
          "Dependencies:",
          ...table("failed", "false"),
        ),
      ),
    });
  });

  test("a bad --requires is a usage error and declares nothing", async () => {
    await using served = await serve();
    expect({ want: await served.run("want", "a", "b", "--requires", "always"), list: await served.run("list") }).toEqual({
      want: {
        stdout: "",
        stderr: `error: option --requires must be one of success, completion, started, not "always"; usage: unitsync want <unit> <dependency> [dependency...] [--requires success|completion|started]\n`,
        exitCode: 2,
      },
      list: ok("No units registered\n"),
    });
  });
});

describe("retry", () => {
  test("starting git-clone again re-arms claude and ide; claude then waits and is released", async () => {
    await using served = await serve();
    await using first = served.bash(dependentScript("claude", "git-clone"));
    await first.waitForStdout("is waiting");
    await served.run("want", "ide", "claude");
    expect((await served.bash(GIT_SCRIPT).result).exitCode).toBe(0);
    expect((await first.result).exitCode).toBe(3);

    const retry = await served.run("start", "git-clone");
    const rearmed = await served.run("list");
    await using second = served.bash(dependentScript("claude", "git-clone"));
    await second.waitForStdout("is waiting");
    await using clone = served.bash(`
git init -q src
git -C src -c user.name=u -c user.email=u@example.com commit -q --allow-empty -m init
git clone -q src x
unitsync complete git-clone`);

    expect({
      retry,
      rearmed,
      clone: await clone.result,
      claude: await second.result,
      list: await served.run("list"),
      log: await logLines(join(served.dir, "log")),
    }).toEqual({
      retry: ok(lines(`Unit "git-clone" started with no dependencies`)),
      rearmed: ok(
        lines(
          "UNIT       STATUS   READY  ",
          "claude     pending  false  ",
          "git-clone  started  true   ",
          "ide        pending  false  ",
        ),
      ),
      clone: ok(lines("Success")),
      claude: ok(waitedOutput("claude", ["git-clone"])),
      list: ok(
        lines(
          "UNIT       STATUS     READY  ",
          "claude     completed  true   ",
          "git-clone  completed  true   ",
          "ide        pending    true   ",
        ),
      ),
      log: ["running claude"],
    });
  });

  test("a stopped unit cannot be retried while its dependency is still failed", async () => {
    await using served = await serve();
    await served.run("want", "claude", "git-clone");
    await served.run("fail", "git-clone", "--reason", "exit code 128");
    expect({ start: await served.run("start", "claude"), status: (await served.run("list")).stdout }).toEqual({
      start: stopped("", `error: claude: ${CLAUDE_REASON}`),
      status: lines(
        "UNIT       STATUS  READY  REASON                                        ",
        `claude     failed  false  ${CLAUDE_REASON}  `,
        "git-clone  failed  true   exit code 128                                 ",
      ),
    });
  });
});
