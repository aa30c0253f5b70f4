import { expect, test } from "bun:test";
import { unitsync } from "../helpers.ts";

test.each([
  [["--help"]],
  [["-h"]],
  [["start", "--help"]],
  [["want", "-h"]],
  [["status", "--help"]],
  [["list", "--help"]],
  [["complete", "--help"]],
  [["target", "--help"]],
  [["first", "--help"]],
  [["ping", "--help"]],
  [["serve", "--help"]],
  [["run", "--help"]],
  [["lock", "--help"]],
  [["locks", "--help"]],
  [["up", "--help"]],
  [["compare", "--help"]],
])("unitsync %j", async (args) => {
  const result = await unitsync(args);
  expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(result.stdout).toMatchSnapshot();
});

test.each([
  ["run", "USAGE unitsync run [OPTIONS] <UNIT> -- CMD [ARGS...]", "Server socket (default: $UNITSYNC_SOCKET_PATH, else"],
  ["want", "USAGE unitsync want [OPTIONS] <UNIT> <DEPENDENCY> [DEPENDENCY...]", "Server socket (default: $UNITSYNC_SOCKET_PATH, else"],
  ["up", "USAGE unitsync up [OPTIONS] SCRIPT|DIR...", "Serve the scripts on this socket (default: a private socket of its own; $UNITSYNC_SOCKET_PATH is not read)"],
])("%s --help: its usage line shows what it takes, and --socket-path says what it does there", async (command, usage, socketPath) => {
  const lines = (await unitsync([command, "--help"])).stdout.split("\n");
  expect({
    usage: lines.find((line) => line.startsWith("USAGE ")),
    socketPath: lines.find((line) => line.includes("--socket-path="))?.trim().replace(/^--socket-path=<PATH> +/, "").slice(0, socketPath.length),
  }).toEqual({ usage, socketPath });
});

test("no command prints the help to stderr and exits 2", async () => {
  const result = await unitsync([]);
  expect({ exitCode: result.exitCode, stdout: result.stdout }).toEqual({ exitCode: 2, stdout: "" });
  expect(result.stderr).toContain("USAGE unitsync");
});

test("--version prints the version", async () => {
  const result = await unitsync(["--version"]);
  expect(result).toEqual({ exitCode: 0, stdout: expect.stringMatching(/^unitsync \d+\.\d+\.\d+\n$/), stderr: "" });
});
