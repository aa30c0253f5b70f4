// Coder's own test cases for `coder exp sync` (cli/sync_test.go and its golden files, the
// agent socket service tests, the unit manager and graph tests, and the docs), each re-run
// through the compiled binary under the name `coder` against `unitsync serve --coder`. The
// number in each name is the case's number in the reference's checklist (section 5);
// README.md maps every case.
import { describe, expect, test } from "bun:test";
import type { Result } from "../helpers.ts";
import { failed, json, lines, ok, serveCoder } from "./_coder.ts";

type Step = [args: string[], expected: Result];

interface CoderCase {
  name: string;
  setup?: string[][];
  steps: Step[];
}

const statusJson = (unit: string, status: string, isReady: boolean, dependencies: [string, string, string, boolean][] | null) =>
  json({
    unit_name: unit,
    status,
    is_ready: isReady,
    dependencies:
      dependencies?.map(([depends_on, required_status, current_status, is_satisfied]) => ({ depends_on, required_status, current_status, is_satisfied })) ??
      null,
  });

const noDependencies = (unit: string, status: string) =>
  ok(`Unit: ${unit}`, `Status: ${status}`, "Ready: true", "", "Dependencies:", "No dependencies found");

const sameStatus = (operation: "start" | "complete", unit: string) =>
  failed(
    operation,
    `${operation} unit failed: cannot ${operation} unit "${unit}": checking status for unit "${unit}": same status already set`,
  );

const cycle = (unit: string, dependency: string) =>
  failed(
    "want",
    `declare dependency failed: cannot add dependency: adding edge for unit "${unit}": failed to add dependency\nadding edge (${unit} -> ${dependency}): cycle detected`,
  );

const readyOf = (unit: string, ready: boolean, status = "pending") =>
  expect.objectContaining({ stdout: expect.stringContaining(`"unit_name": "${unit}",\n  "status": "${status}",\n  "is_ready": ${ready}`) });

const cases: CoderCase[] = [
  // cli/sync_test.go and its golden files
  { name: "65 ping (golden ping_success)", steps: [[["ping"], ok("Success")]] },
  {
    name: "67 start with no dependencies (golden start_no_dependencies)",
    steps: [[["start", "test-unit"], ok('Unit "test-unit" started with no dependencies')]],
  },
  {
    name: "68 start with dependencies already satisfied (golden start_with_satisfied_dependencies)",
    setup: [["want", "test-unit", "dep-unit"], ["want", "test-unit", "dep-unit-2"], ["start", "dep-unit"], ["complete", "dep-unit"], ["start", "dep-unit-2"], ["complete", "dep-unit-2"]],
    steps: [[["start", "test-unit"], ok('Unit "test-unit" started immediately, dependencies already satisfied: [dep-unit, dep-unit-2]')]],
  },
  { name: "74 want (golden want_success)", steps: [[["want", "test-unit", "dep-unit"], ok('Unit "test-unit" declared dependencies: [dep-unit]')]] },
  {
    name: "75 want several dependencies, then status -o json names them all",
    steps: [
      [["want", "test-unit", "dep-1", "dep-2", "dep-3"], ok('Unit "test-unit" declared dependencies: [dep-1, dep-2, dep-3]')],
      [
        ["status", "test-unit", "--output", "json"],
        statusJson("test-unit", "pending", false, [
          ["dep-1", "completed", "", false],
          ["dep-2", "completed", "", false],
          ["dep-3", "completed", "", false],
        ]),
      ],
    ],
  },
  { name: "78 complete (golden complete_success)", setup: [["start", "test-unit"]], steps: [[["complete", "test-unit"], ok("Success")]] },
  {
    name: "80 status of a pending unit (golden status_pending)",
    setup: [["want", "test-unit", "dep-unit"]],
    steps: [
      [
        ["status", "test-unit"],
        ok(
          "Unit: test-unit",
          "Status: pending",
          "Ready: false",
          "",
          "Dependencies:",
          "DEPENDS ON  REQUIRED STATUS  CURRENT STATUS  SATISFIED  ",
          "dep-unit    completed        not registered  false      ",
        ),
      ],
    ],
  },
  { name: "81 status of a started unit (golden status_started)", setup: [["start", "test-unit"]], steps: [[["status", "test-unit"], noDependencies("test-unit", "started")]] },
  {
    name: "82 status of a completed unit (golden status_completed)",
    setup: [["start", "test-unit"], ["complete", "test-unit"]],
    steps: [[["status", "test-unit"], noDependencies("test-unit", "completed")]],
  },
  {
    name: "83 status with dependencies, one satisfied (golden status_with_dependencies)",
    setup: [["want", "test-unit", "dep-1"], ["want", "test-unit", "dep-2"], ["start", "dep-1"], ["complete", "dep-1"]],
    steps: [
      [
        ["status", "test-unit"],
        ok(
          "Unit: test-unit",
          "Status: pending",
          "Ready: false",
          "",
          "Dependencies:",
          "DEPENDS ON  REQUIRED STATUS  CURRENT STATUS  SATISFIED  ",
          "dep-1       completed        completed       true       ",
          "dep-2       completed        not registered  false      ",
        ),
      ],
    ],
  },
  {
    name: "84 status --output json (golden status_json_format)",
    setup: [["want", "test-unit", "dep-unit"], ["start", "dep-unit"], ["complete", "dep-unit"]],
    steps: [[["status", "test-unit", "--output", "json"], statusJson("test-unit", "pending", true, [["dep-unit", "completed", "completed", true]])]],
  },
  { name: "85 status of a unit nobody registered (docs)", steps: [[["status", "doesnotexist"], { ...noDependencies("doesnotexist", "not registered") }]] },
  { name: "86 list with no units (golden list_no_units)", steps: [[["list"], ok("No units registered")]] },
  {
    name: "87 list (golden list_with_units)",
    setup: [["start", "unit-a"], ["start", "unit-b"], ["complete", "unit-b"], ["want", "unit-c", "unit-a"]],
    steps: [
      [
        ["list"],
        ok("UNIT    STATUS     READY  ", "unit-a  started    true   ", "unit-b  completed  true   ", "unit-c  pending    false  "),
      ],
    ],
  },
  {
    name: "88 list --output json (golden list_json_format)",
    setup: [["start", "my-unit"]],
    steps: [[["list", "--output", "json"], json([{ unit_name: "my-unit", status: "started", is_ready: true }])]],
  },
  { name: "88 list --output json with no units: null, as Go encodes no slice", steps: [[["list", "-o", "json"], json(null)]] },
  {
    name: "90 -c chooses the columns of status and list (flags in the help goldens)",
    setup: [["want", "a", "b"]],
    steps: [
      [["status", "a", "-c", "depends on,satisfied"], ok("Unit: a", "Status: pending", "Ready: false", "", "Dependencies:", "DEPENDS ON  SATISFIED  ", "b           false      ")],
      [["list", "--column", "unit,ready"], ok("UNIT  READY  ", "a     false  ")],
      [["list", "-c", "reason"], failed("list", 'unknown column "reason": the columns are unit, status, ready')],
    ],
  },
  {
    name: "70 start times out on a dependency that never completes",
    setup: [["want", "x", "y"]],
    steps: [
      [
        ["start", "x", "--timeout", "1s"],
        { ...failed("start", "timeout waiting for dependencies of unit 'x'"), stdout: lines('Unit "x" is waiting for dependencies to be satisfied: [y]') },
      ],
    ],
  },
  { name: "72 start of a started unit", setup: [["start", "x"]], steps: [[["start", "x"], sameStatus("start", "x")]] },
  {
    name: "73 start needs exactly one unit",
    steps: [
      [["start"], failed("start", "exactly one unit name is required")],
      [["start", "a", "b"], failed("start", "exactly one unit name is required")],
    ],
  },
  {
    name: "76 want needs a unit and a dependency",
    steps: [
      [["want"], failed("want", "at least two arguments are required: unit and one or more depends-on")],
      [["want", "a"], failed("want", "at least two arguments are required: unit and one or more depends-on")],
    ],
  },
  { name: "77, 54, 93 want that closes a cycle (docs)", setup: [["want", "bar", "foo"]], steps: [[["want", "foo", "bar"], cycle("foo", "bar")]] },
  {
    name: "79, 51, 92 complete of a unit nobody registered",
    steps: [[["complete", "u1"], failed("complete", 'complete unit failed: cannot complete unit "u1": unit "u1" must be registered first: unit not found')]],
  },
  {
    name: "complete and status need exactly one unit",
    steps: [
      [["complete"], failed("complete", "exactly one unit name is required")],
      [["status", "a", "b"], failed("status", "exactly one unit name is required")],
    ],
  },

  // agent/agentsocket/service_test.go, through the CLI
  { name: "40 start on a fresh server, then status", setup: [["start", "test-unit"]], steps: [[["status", "test-unit", "-o", "json"], statusJson("test-unit", "started", true, null)]] },
  {
    name: "41 a second start is refused and the unit stays started",
    setup: [["start", "test-unit"]],
    steps: [
      [["start", "test-unit"], sameStatus("start", "test-unit")],
      [["status", "test-unit", "-o", "json"], statusJson("test-unit", "started", true, null)],
    ],
  },
  {
    name: "42 start of a completed unit starts it again",
    setup: [["start", "test-unit"], ["complete", "test-unit"]],
    steps: [
      [["start", "test-unit"], ok('Unit "test-unit" started with no dependencies')],
      [["status", "test-unit", "-o", "json"], statusJson("test-unit", "started", true, null)],
    ],
  },
  {
    name: "43 a unit whose dependency is not done does not start, and stays pending",
    setup: [["want", "test-unit", "dependency-unit"]],
    steps: [
      [
        ["start", "test-unit", "--timeout", "1s"],
        {
          ...failed("start", "timeout waiting for dependencies of unit 'test-unit'"),
          stdout: lines('Unit "test-unit" is waiting for dependencies to be satisfied: [dependency-unit]'),
        },
      ],
      [["status", "test-unit", "-o", "json"], statusJson("test-unit", "pending", false, [["dependency-unit", "completed", "", false]])],
    ],
  },
  {
    name: "44 want on a fresh server lists one dependency",
    setup: [["want", "test-unit", "dependency-unit"]],
    steps: [[["status", "test-unit", "-o", "json"], statusJson("test-unit", "pending", false, [["dependency-unit", "completed", "", false]])]],
  },
  {
    name: "45 want on a dependency that already started",
    setup: [["start", "dependency-unit"]],
    steps: [
      [["want", "test-unit", "dependency-unit"], ok('Unit "test-unit" declared dependencies: [dependency-unit]')],
      [["status", "test-unit", "-o", "json"], statusJson("test-unit", "pending", false, [["dependency-unit", "completed", "started", false]])],
    ],
  },
  {
    name: "46 want after the unit started: it stays started and is no longer ready",
    setup: [["start", "test-unit"]],
    steps: [
      [["want", "test-unit", "dependency-unit"], ok('Unit "test-unit" declared dependencies: [dependency-unit]')],
      [["status", "test-unit", "-o", "json"], statusJson("test-unit", "started", false, [["dependency-unit", "completed", "", false]])],
    ],
  },
  {
    name: "47, 50, 9 a unit nobody registered is ready, with no status and no dependencies",
    steps: [[["status", "unregistered-unit", "-o", "json"], statusJson("unregistered-unit", "", true, null)]],
  },
  { name: "48 want makes the unit not ready", setup: [["want", "test-unit", "dependency-unit"]], steps: [[["status", "test-unit", "-o", "json"], readyOf("test-unit", false)]] },
  {
    name: "49 a dependent becomes ready when its dependency completes",
    setup: [["start", "test-unit"]],
    steps: [
      [["status", "test-unit", "-o", "json"], readyOf("test-unit", true, "started")],
      [["want", "dependent-unit", "test-unit"], ok('Unit "dependent-unit" declared dependencies: [test-unit]')],
      [["complete", "test-unit"], ok("Success")],
      [["status", "dependent-unit", "-o", "json"], readyOf("dependent-unit", true)],
    ],
  },
  { name: "52 complete of a pending unit that never started", setup: [["want", "a", "b"]], steps: [[["complete", "a"], ok("Success")]] },
  { name: "53, 31 a unit cannot want itself", steps: [[["want", "a", "a"], cycle("a", "a")]] },
  {
    name: "55, 4-8 an empty unit name",
    steps: [
      [["start", ""], failed("start", "get status failed: cannot check readiness: unit ID cannot be empty: unit name is required")],
      [["want", "", "x"], failed("want", 'declare dependency failed: cannot add dependency: registering unit "": unit name is required')],
      [["want", "x", ""], failed("want", "declare dependency failed: cannot add dependency: dependency name cannot be empty: unit name is required")],
      [["complete", ""], failed("complete", 'complete unit failed: cannot complete unit "": updating status for unit "": unit name is required')],
      [["status", ""], failed("status", "get status failed: cannot check readiness: unit ID cannot be empty: unit name is required")],
    ],
  },
  {
    name: "57 list leaves out units only named as dependencies",
    setup: [["start", "a"], ["start", "b"], ["complete", "b"], ["want", "c", "a", "never-registered"]],
    steps: [[["list"], ok("UNIT  STATUS     READY  ", "a     started    true   ", "b     completed  true   ", "c     pending    false  ")]],
  },

  // agent/unit/manager_test.go and graph_test.go, where the CLI can reach them
  {
    name: "15-17, 91 a dependency named before anyone registers it",
    setup: [["want", "a", "b"]],
    steps: [
      [["status", "a", "-o", "json"], statusJson("a", "pending", false, [["b", "completed", "", false]])],
      [["list", "-o", "json"], json([{ unit_name: "a", status: "pending", is_ready: false }])],
      [["want", "b", "c"], ok('Unit "b" declared dependencies: [c]')],
      [["status", "a", "-o", "json"], statusJson("a", "pending", false, [["b", "completed", "pending", false]])],
      [["complete", "b"], ok("Success")],
      [["status", "a", "-o", "json"], statusJson("a", "pending", true, [["b", "completed", "completed", true]])],
    ],
  },
  { name: "18 a cycle through a chain", setup: [["want", "a", "b"], ["want", "b", "c"], ["want", "c", "d"]], steps: [[["want", "d", "a"], cycle("d", "a")]] },
  {
    name: "19 the same edge declared with another requirement overwrites it (unitsync's --requires)",
    setup: [["want", "a", "b", "--requires", "started"]],
    steps: [
      [["want", "a", "b"], ok('Unit "a" declared dependencies: [b]')],
      [["status", "a", "-o", "json"], statusJson("a", "pending", false, [["b", "completed", "", false]])],
    ],
  },
  {
    name: "20 the same edge twice is one edge",
    setup: [["want", "a", "b"]],
    steps: [
      [["want", "a", "b"], ok('Unit "a" declared dependencies: [b]')],
      [["status", "a", "-o", "json"], statusJson("a", "pending", false, [["b", "completed", "", false]])],
    ],
  },
  { name: "22 complete twice", setup: [["start", "u2"], ["complete", "u2"]], steps: [[["complete", "u2"], sameStatus("complete", "u2")]] },
  {
    name: "11, 12, 25 requirements of `started` (unitsync's --requires): ready once every dependency started",
    setup: [["want", "a", "b", "c", "--requires", "started"]],
    steps: [
      [["start", "b"], ok('Unit "b" started with no dependencies')],
      [["status", "a", "-o", "json"], readyOf("a", false)],
      [["start", "c"], ok('Unit "c" started with no dependencies')],
      [["status", "a", "-o", "json"], readyOf("a", true)],
    ],
  },
  {
    name: "23 a linear chain with mixed requirements: readiness moves up, statuses stay pending",
    setup: [["want", "a", "b", "--requires", "started"], ["want", "b", "c"]],
    steps: [
      [["list", "-o", "json"], json([{ unit_name: "a", status: "pending", is_ready: false }, { unit_name: "b", status: "pending", is_ready: false }])],
      [["start", "c"], ok('Unit "c" started with no dependencies')],
      [["complete", "c"], ok("Success")],
      [["status", "b", "-o", "json"], readyOf("b", true)],
      [["status", "a", "-o", "json"], readyOf("a", false)],
      [["start", "b"], ok('Unit "b" started immediately, dependencies already satisfied: [c]')],
      [["status", "a", "-o", "json"], readyOf("a", true)],
    ],
  },
  {
    name: "26 a diamond: the top is ready only when both middles started",
    setup: [["want", "a", "b", "c", "--requires", "started"], ["want", "b", "d"], ["want", "c", "d"], ["start", "d"], ["complete", "d"]],
    steps: [
      [["list", "-o", "json"], json([
        { unit_name: "a", status: "pending", is_ready: false },
        { unit_name: "b", status: "pending", is_ready: true },
        { unit_name: "c", status: "pending", is_ready: true },
        { unit_name: "d", status: "completed", is_ready: true },
      ])],
      [["start", "b"], ok('Unit "b" started immediately, dependencies already satisfied: [d]')],
      [["status", "a", "-o", "json"], readyOf("a", false)],
      [["start", "c"], ok('Unit "c" started immediately, dependencies already satisfied: [d]')],
      [["status", "a", "-o", "json"], readyOf("a", true)],
    ],
  },
  {
    name: "27 one dependency to start, one to complete",
    setup: [["want", "a", "b", "--requires", "started"], ["want", "a", "c"]],
    steps: [
      [["start", "b"], ok('Unit "b" started with no dependencies')],
      [["status", "a", "-o", "json"], readyOf("a", false)],
      [["start", "c"], ok('Unit "c" started with no dependencies')],
      [["complete", "c"], ok("Success")],
      [["status", "a", "-o", "json"], readyOf("a", true)],
    ],
  },
  {
    name: "29 readiness needs the exact status: a dependency started again no longer satisfies",
    setup: [["want", "a", "b"], ["start", "b"]],
    steps: [
      [["status", "a", "-o", "json"], readyOf("a", false)],
      [["complete", "b"], ok("Success")],
      [["status", "a", "-o", "json"], readyOf("a", true)],
      [["start", "b"], ok('Unit "b" started with no dependencies')],
      [["status", "a", "-o", "json"], statusJson("a", "pending", false, [["b", "completed", "started", false]])],
    ],
  },
  {
    name: "33 three edges out of one unit",
    setup: [["want", "a", "b", "c"], ["want", "a", "d", "--requires", "started"]],
    steps: [
      [
        ["status", "a"],
        ok(
          "Unit: a",
          "Status: pending",
          "Ready: false",
          "",
          "Dependencies:",
          "DEPENDS ON  REQUIRED STATUS  CURRENT STATUS  SATISFIED  ",
          "b           completed        not registered  false      ",
          "c           completed        not registered  false      ",
          "d           started          not registered  false      ",
        ),
      ],
    ],
  },
];

describe("Coder's cases, under the name coder", () => {
  test.each(cases.map((c) => [c.name, c] as const))("%s", async (_, { setup = [], steps }) => {
    await using served = await serveCoder();
    await served.seed(setup);
    for (const [args, expected] of steps) {
      expect({ args, result: await served.sync(...args) }).toEqual({ args, result: expected });
    }
  });

  test("69 start waits for its dependencies, then says which it waited for (golden start_with_dependencies)", async () => {
    await using served = await serveCoder();
    await served.seed([["want", "test-unit", "dep-unit"], ["want", "test-unit", "dep-unit-2"]]);
    await using start = served.spawnSync("start", "test-unit");
    await start.waitForStdout("is waiting for dependencies");
    await served.seed([["start", "dep-unit"], ["complete", "dep-unit"], ["start", "dep-unit-2"], ["complete", "dep-unit-2"]]);
    expect(await start.result).toEqual(
      ok(
        'Unit "test-unit" is waiting for dependencies to be satisfied: [dep-unit, dep-unit-2]',
        'Unit "test-unit" finished waiting for dependencies: [dep-unit, dep-unit-2]',
      ),
    );
  });

  test("66 ping with no server: Go's dial error, exit 1", async () => {
    await using served = await serveCoder();
    const missing = `${served.dir}/nothing.sock`;
    expect(await served.sync("ping", "--socket-path", missing)).toEqual(
      failed("ping", `connect to agent socket: connect to socket: dial unix ${missing}: connect: no such file or directory`),
    );
  });

  test("89 --socket-path after the arguments, or CODER_AGENT_SOCKET_PATH, reaches the server", async () => {
    await using served = await serveCoder();
    const { CODER_AGENT_SOCKET_PATH: _, ...withoutEnv } = served.env;
    const flagged = Bun.spawn([served.coder, "exp", "sync", "start", "test-unit", "--socket-path", served.socketPath], { env: withoutEnv, stdout: "pipe" });
    expect([await new Response(flagged.stdout).text(), await flagged.exited]).toEqual([lines('Unit "test-unit" started with no dependencies'), 0]);
    expect(await served.sync("status", "test-unit")).toEqual(noDependencies("test-unit", "started"));
  });

  test.each(["ping", "start", "want", "complete", "status", "list"])("90 %s --help: usage on stdout, exit 0", async (subcommand) => {
    await using served = await serveCoder();
    const result = await served.sync(subcommand, "--help");
    expect({ ...result, stdout: result.stdout.split("\n").slice(0, 2) }).toEqual({
      stdout: ["USAGE:", expect.stringMatching(new RegExp(`^  coder exp sync ${subcommand}\\b`))],
      stderr: "",
      exitCode: 0,
    });
  });

  test("95 state lives in memory: a new server knows no units", async () => {
    await using first = await serveCoder();
    await first.seed([["start", "a"]]);
    await using second = await serveCoder();
    expect(await second.sync("list")).toEqual(ok("No units registered"));
  });
});
