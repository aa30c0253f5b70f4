// Waiting reports: a `start` or `run` that has to wait says on stderr, at once and then every
// --report-every, what each missing dependency is doing, and names the unit a typo most
// likely meant. stdout keeps Coder's lines only.
import { describe, expect, test } from "bun:test";
import { waitUntil, type Result } from "../helpers.ts";
import { ok, run, serve } from "./_bash.ts";

const lines = (...all: string[]) => `${all.join("\n")}\n`;
const waiting = (unit: string, deps: string) => `Unit "${unit}" is waiting for dependencies to be satisfied: [${deps}]`;
const finished = (unit: string, deps: string) => `Unit "${unit}" finished waiting for dependencies: [${deps}]`;
const timedOut = (unit: string) => `error: timeout waiting for dependencies of unit '${unit}'`;

/** stderr cut into reports (each starts at a `Unit ` line), with the time waited written as `<d>`. */
function reportsIn(stderr: string): string[] {
  return stderr
    .split(/\n(?=Unit )/)
    .filter((report) => report !== "")
    .map((report) => report.replace(/\n$/, "").replace(/still waits, after \S+, for/, "still waits, after <d>, for"));
}

const TYPO_REPORT = [
  `Unit "claude" waits for 1 dependency:`,
  `  gti-clone  not registered by any script yet; did you mean "git-clone"?`,
].join("\n");
const TYPO_PROGRESS = [
  `Unit "claude" still waits, after <d>, for 1 dependency:`,
  `  gti-clone  not registered by any script yet; did you mean "git-clone"?`,
].join("\n");

describe("a start that waits", () => {
  test("for a typo reports at once with the name it likely meant, then again every --report-every; stdout keeps Coder's lines", async () => {
    await using served = await serve();
    expect(await served.bash("unitsync start git-clone").result).toEqual(ok(`Unit "git-clone" started with no dependencies\n`));
    await using claude = served.bash(`
unitsync want claude gti-clone
unitsync start claude --report-every 200ms
echo "claude runs"`);
    await claude.waitForStderr(`did you mean "git-clone"?`);
    await waitUntil(() => /still waits.*\n.*\?\n/.test(claude.stderr), 5_000, "a second report");
    await served.run("start", "gti-clone");
    await served.run("complete", "gti-clone");
    const result = await claude.result;

    // More reports may come before the release; each says what was so at the time.
    const [first, second, ...later] = reportsIn(result.stderr);
    const startedProgress = TYPO_PROGRESS.replace(/not registered.*/, "started, not completed yet");
    expect({
      first,
      second,
      later: later.filter((report) => report !== TYPO_PROGRESS && report !== startedProgress),
      stdout: result.stdout,
      exitCode: result.exitCode,
    }).toEqual({
      first: TYPO_REPORT,
      second: TYPO_PROGRESS,
      later: [],
      stdout: lines(
        `Unit "claude" declared dependencies: [gti-clone]`,
        waiting("claude", "gti-clone"),
        finished("claude", "gti-clone"),
        "claude runs",
      ),
      exitCode: 0,
    });
  });

  interface ReportCase {
    name: string;
    setup: string[][];
    /** The unit that waits, and what it waits for as Coder's line lists it. */
    unit: string;
    waitsFor: string;
    report: string[];
  }

  // Each start gives up after 100 ms, long before a second report (1 min): the result is exact.
  const cases: ReportCase[] = [
    {
      name: "a name far from every registered one gets no suggestion",
      setup: [["start", "git-clone"], ["want", "claude", "database"]],
      unit: "claude",
      waitsFor: "database",
      report: [`Unit "claude" waits for 1 dependency:`, `  database  not registered by any script yet`],
    },
    {
      name: "a typo in case only is caught too",
      setup: [["start", "git-clone"], ["want", "claude", "Git-Clone"]],
      unit: "claude",
      waitsFor: "Git-Clone",
      report: [`Unit "claude" waits for 1 dependency:`, `  Git-Clone  not registered by any script yet; did you mean "git-clone"?`],
    },
    {
      name: "a pending dependency says what it itself waits for; a started one that it has not completed",
      setup: [["start", "editor"], ["want", "install-deps", "node-runtime"], ["want", "claude", "install-deps", "editor"]],
      unit: "claude",
      waitsFor: "editor, install-deps",
      report: [
        `Unit "claude" waits for 2 dependencies:`,
        `  editor        started, not completed yet`,
        `  install-deps  pending, itself waiting for [node-runtime]`,
      ],
    },
    {
      name: "a dependency that could start but was not started yet",
      setup: [["want", "db", "config"], ["start", "config"], ["complete", "config"], ["want", "api", "db"]],
      unit: "api",
      waitsFor: "db",
      report: [`Unit "api" waits for 1 dependency:`, `  db  registered, not started yet`],
    },
    {
      name: "a started dependency that only has to end",
      setup: [["start", "build"], ["want", "report", "build", "--requires", "completion"]],
      unit: "report",
      waitsFor: "build",
      report: [`Unit "report" waits for 1 dependency:`, `  build  started, not ended yet`],
    },
  ];

  describe.each(cases)("$name", ({ setup, unit, waitsFor, report }) => {
    const prepare = async () => {
      const served = await serve();
      for (const step of setup) expect({ step, exitCode: (await served.run(...step)).exitCode }).toEqual({ step, exitCode: 0 });
      return served;
    };

    test("start: the report on stderr", async () => {
      await using served = await prepare();
      expect(await served.run("start", unit, "--report-every", "1m", "--timeout", "100ms")).toEqual({
        stdout: lines(waiting(unit, waitsFor)),
        stderr: lines(...report, timedOut(unit)),
        exitCode: 4,
      });
    });

    test("run: the same report on stderr, after run's own waiting line", async () => {
      await using served = await prepare();
      expect(await served.run("run", unit, "--report-every", "1m", "--timeout", "100ms", "--", "echo", "never")).toEqual({
        stdout: "",
        stderr: lines(waiting(unit, waitsFor), ...report, timedOut(unit)),
        exitCode: 4,
      });
    });
  });
});

describe("how often", () => {
  test("UNITSYNC_REPORT_EVERY turns reports on; --report-every 0 turns them off, whatever the variable says", async () => {
    await using served = await serve();
    await served.run("want", "quiet", "dep");
    await served.run("want", "witness", "dep");
    await using quiet = served.bash("UNITSYNC_REPORT_EVERY=50ms unitsync start quiet --report-every 0");
    await quiet.waitForStdout("is waiting");
    // The witness reports every 50 ms: once it has reported three times, quiet has had time to.
    await using witness = served.bash("UNITSYNC_REPORT_EVERY=50ms unitsync start witness");
    await waitUntil(() => witness.stderr.split("still waits, after").length >= 3, 5_000, "two progress reports");
    await served.run("start", "dep");
    await served.run("complete", "dep");

    const [quietResult, witnessResult] = await Promise.all([quiet.result, witness.result]);
    const [first, ...progress] = reportsIn(witnessResult.stderr);
    const states = new Set(progress.map((report) => report.split("\n").slice(1).join("\n")));
    expect({
      quiet: quietResult,
      witness: { stdout: witnessResult.stdout, exitCode: witnessResult.exitCode },
      first,
      progressHeads: [...new Set(progress.map((report) => report.split("\n")[0]))],
      // The last reports may come after dep started.
      otherStates: [...states].filter((state) => state !== "  dep  not registered by any script yet" && state !== "  dep  started, not completed yet"),
    }).toEqual({
      quiet: ok(lines(waiting("quiet", "dep"), finished("quiet", "dep"))),
      witness: { stdout: lines(waiting("witness", "dep"), finished("witness", "dep")), exitCode: 0 },
      first: `Unit "witness" waits for 1 dependency:\n  dep  not registered by any script yet`,
      progressHeads: [`Unit "witness" still waits, after <d>, for 1 dependency:`],
      otherStates: [],
    });
  });

  const START_USAGE = "usage: unitsync start <unit> [--timeout 5m] [--report-every 30s]";
  const RUN_USAGE = "usage: unitsync run <unit> [--after DEP]... [--requires R] [--lock NAME] [--timeout D] [--report-every D] -- CMD [ARGS...]";
  const invalid = (value: string, where: string, usage: string) =>
    `error: invalid duration ${JSON.stringify(value)} for ${where}: use e.g. 30s, 5m or 1h (0 turns reports off); ${usage}\n`;

  interface BadValueCase {
    name: string;
    args: string[];
    env: Record<string, string>;
    stderr: string;
  }

  test.each<BadValueCase>([
    { name: "start --report-every soon", args: ["start", "w", "--report-every", "soon"], env: {}, stderr: invalid("soon", "--report-every", START_USAGE) },
    { name: "start --report-every -1s", args: ["start", "w", "--report-every", "-1s"], env: {}, stderr: invalid("-1s", "--report-every", START_USAGE) },
    { name: "start --report-every 30 (no unit)", args: ["start", "w", "--report-every", "30"], env: {}, stderr: invalid("30", "--report-every", START_USAGE) },
    { name: "start --report-every (no value)", args: ["start", "w", "--report-every"], env: {}, stderr: `error: option --report-every needs a value; ${START_USAGE}\n` },
    { name: "run --report-every 5", args: ["run", "w", "--report-every", "5", "--", "true"], env: {}, stderr: invalid("5", "--report-every", RUN_USAGE) },
    { name: "UNITSYNC_REPORT_EVERY=often", args: ["start", "w"], env: { UNITSYNC_REPORT_EVERY: "often" }, stderr: invalid("often", "UNITSYNC_REPORT_EVERY", START_USAGE) },
  ])("a bad value, $name: exit 2, one line that says what to write, nothing registered", async ({ args, env, stderr }) => {
    await using served = await serve();
    const result = await run(args, { ...served.env, ...env });
    expect({ result, registered: await served.run("list") }).toEqual({
      result: { stdout: "", stderr, exitCode: 2 } satisfies Result,
      registered: ok("No units registered\n"),
    });
  });
});
