// The output contract (reference/coder-exp-sync.md, sections 4 and 5): the exact lines,
// tables (trailing spaces included) and JSON the client commands print.
import { expect, test } from "bun:test";
import { VERSION } from "../../src/protocol/index.ts";
import type { Result } from "../helpers.ts";
import { ok, pinged, serve } from "./_bash.ts";

const lines = (...all: string[]) => `${all.join("\n")}\n`;
const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
/** Timestamps differ run to run: compare the output with each one written as `<time>`. */
const masked = (result: Result): Result => ({
  ...result,
  stdout: result.stdout.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>"),
});

interface OutputCase {
  name: string;
  setup: string[][];
  args: string[];
  stdout: string;
}

const cases: OutputCase[] = [
  { name: "list with no units", setup: [], args: ["list"], stdout: lines("No units registered") },
  { name: "list -o json with no units", setup: [], args: ["list", "-o", "json"], stdout: lines("[]") },
  {
    name: "list (Coder's golden)",
    setup: [["start", "unit-a"], ["start", "unit-b"], ["complete", "unit-b"], ["want", "unit-c", "unit-a"]],
    args: ["list"],
    stdout: lines(
      "UNIT    STATUS     READY  ",
      "unit-a  started    true   ",
      "unit-b  completed  true   ",
      "unit-c  pending    false  ",
    ),
  },
  {
    name: "list -o json",
    setup: [["start", "my-unit"]],
    args: ["list", "--output", "json"],
    stdout: json([
      {
        unit_name: "my-unit",
        status: "started",
        is_ready: true,
        registered_at: "<time>",
        start_requested_at: "<time>",
        started_at: "<time>",
      },
    ]),
  },
  {
    name: "status of an unknown unit",
    setup: [],
    args: ["status", "doesnotexist"],
    stdout: lines("Unit: doesnotexist", "Status: not registered", "Ready: true", "", "Dependencies:", "No dependencies found"),
  },
  {
    name: "status -o json of an unknown unit",
    setup: [],
    args: ["status", "doesnotexist", "-o", "json"],
    stdout: json({ unit_name: "doesnotexist", status: "not registered", is_ready: true, dependencies: [] }),
  },
  {
    name: "status with dependencies (Coder's golden)",
    setup: [["want", "test-unit", "dep-2", "dep-1"], ["start", "dep-1"], ["complete", "dep-1"]],
    args: ["status", "test-unit"],
    stdout: lines(
      "Unit: test-unit",
      "Status: pending",
      "Ready: false",
      "",
      "Dependencies:",
      "DEPENDS ON  REQUIRED STATUS  CURRENT STATUS  SATISFIED  ",
      "dep-1       completed        completed       true       ",
      "dep-2       completed        not registered  false      ",
    ),
  },
  {
    name: "status of a pending unit (Coder's golden)",
    setup: [["want", "test-unit", "dep-unit"]],
    args: ["status", "test-unit"],
    stdout: lines(
      "Unit: test-unit",
      "Status: pending",
      "Ready: false",
      "",
      "Dependencies:",
      "DEPENDS ON  REQUIRED STATUS  CURRENT STATUS  SATISFIED  ",
      "dep-unit    completed        not registered  false      ",
    ),
  },
  {
    name: "status of a started unit",
    setup: [["start", "test-unit"]],
    args: ["status", "test-unit"],
    stdout: lines("Unit: test-unit", "Status: started", "Ready: true", "", "Dependencies:", "No dependencies found"),
  },
  {
    name: "status of a completed unit",
    setup: [["start", "test-unit"], ["complete", "test-unit"]],
    args: ["status", "test-unit"],
    stdout: lines("Unit: test-unit", "Status: completed", "Ready: true", "", "Dependencies:", "No dependencies found"),
  },
  {
    name: "status -o json (Coder's golden)",
    setup: [["want", "test-unit", "dep-unit"], ["start", "dep-unit"], ["complete", "dep-unit"]],
    args: ["status", "test-unit", "--output", "json"],
    stdout: json({
      unit_name: "test-unit",
      status: "pending",
      is_ready: true,
      registered_at: "<time>",
      dependencies: [
        {
          depends_on: "dep-unit",
          required_status: "completed",
          current_status: "completed",
          is_satisfied: true,
          requires: "success",
          declared_at: "<time>",
        },
      ],
    }),
  },
  {
    name: "want with several dependencies",
    setup: [],
    args: ["want", "test-unit", "dep-1", "dep-2", "dep-3"],
    stdout: lines(`Unit "test-unit" declared dependencies: [dep-1, dep-2, dep-3]`),
  },
  {
    name: "want repeats a dependency only once",
    setup: [],
    args: ["want", "test-unit", "dep-1", "dep-1"],
    stdout: lines(`Unit "test-unit" declared dependencies: [dep-1]`),
  },
  {
    name: "start with no dependencies",
    setup: [],
    args: ["start", "test-unit"],
    stdout: lines(`Unit "test-unit" started with no dependencies`),
  },
  {
    name: "start with dependencies already satisfied",
    setup: [
      ["want", "test-unit", "dep-unit", "dep-unit-2"],
      ["start", "dep-unit"],
      ["complete", "dep-unit"],
      ["start", "dep-unit-2"],
      ["complete", "dep-unit-2"],
    ],
    args: ["start", "test-unit"],
    stdout: lines(`Unit "test-unit" started immediately, dependencies already satisfied: [dep-unit, dep-unit-2]`),
  },
  { name: "complete", setup: [["start", "test-unit"]], args: ["complete", "test-unit"], stdout: lines("Success") },
  {
    name: "complete of a wanted unit that never started",
    setup: [["want", "test-unit", "dep-unit"]],
    args: ["complete", "test-unit"],
    stdout: lines("Success"),
  },
];

test.each(cases)("$name", async ({ setup, args, stdout }) => {
  await using served = await serve();
  for (const step of setup) expect({ step, exitCode: (await served.run(...step)).exitCode }).toEqual({ step, exitCode: 0 });
  expect(masked(await served.run(...args))).toEqual(ok(stdout));
});

test("start prints the waiting line, then the finished line once another client completes the dependencies", async () => {
  await using served = await serve();
  await served.run("want", "test-unit", "dep-unit", "dep-unit-2");
  await using start = served.spawn("start", "test-unit");
  await start.waitForStdout("is waiting");
  for (const dep of ["dep-unit", "dep-unit-2"]) {
    await served.run("start", dep);
    await served.run("complete", dep);
  }
  expect(await start.result).toEqual(
    ok(
      lines(
        `Unit "test-unit" is waiting for dependencies to be satisfied: [dep-unit, dep-unit-2]`,
        `Unit "test-unit" finished waiting for dependencies: [dep-unit, dep-unit-2]`,
      ),
    ),
  );
});

test("ping names the server's version, pid and socket path, and where the path came from", async () => {
  await using served = await serve();
  const pid = served.server.pid;
  expect({
    env: await served.run("ping"),
    flag: await served.run("ping", "--socket-path", served.socketPath),
  }).toEqual({
    env: pinged(pid, served.socketPath, "from UNITSYNC_SOCKET_PATH"),
    flag: pinged(pid, served.socketPath, "from --socket-path"),
  });
});
