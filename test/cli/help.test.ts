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
  [["ping", "--help"]],
  [["serve", "--help"]],
])("unitsync %j", async (args) => {
  const result = await unitsync(args);
  expect({ exitCode: result.exitCode, stderr: result.stderr }).toEqual({ exitCode: 0, stderr: "" });
  expect(result.stdout).toMatchSnapshot();
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
