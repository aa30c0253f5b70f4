import { describe, expect, test } from "bun:test";
import { outputArgs, socketArgs } from "../../src/cli/_args.ts";
import { parseDuration } from "../../src/cli/_duration.ts";
import { parseArgv } from "../../src/cli/_parser.ts";
import { UnitsyncError } from "../../src/protocol/index.ts";

const defs = {
  timeout: { type: "string", default: "5m" },
  verbose: { type: "boolean" },
  ...outputArgs,
  ...socketArgs,
} as const;

function usage(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof UnitsyncError && error.code === "usage") return error.message;
    throw error;
  }
  throw new Error("expected a usage error");
}

describe("parseArgv", () => {
  test.each([
    [["a"], { _: ["a"], rest: undefined, timeout: "5m", output: "table" }],
    [["a", "--timeout", "1s"], { _: ["a"], rest: undefined, timeout: "1s", output: "table" }],
    [["--timeout=0", "a"], { _: ["a"], rest: undefined, timeout: "0", output: "table" }],
    [["-o", "json", "x"], { _: ["x"], rest: undefined, timeout: "5m", output: "json" }],
    [["-o=json"], { _: [], rest: undefined, timeout: "5m", output: "json" }],
    [["a", "--socket-path", "/s", "--verbose"], { _: ["a"], rest: undefined, timeout: "5m", output: "table", "socket-path": "/s", verbose: true }],
    [["a", "--", "cmd", "--help", "-x"], { _: ["a"], rest: ["cmd", "--help", "-x"], timeout: "5m", output: "table" }],
    [["-", "b"], { _: ["-", "b"], rest: undefined, timeout: "5m", output: "table" }],
  ])("%j", (argv, expected) => {
    expect(parseArgv(argv, defs)).toEqual(expected);
  });

  test.each([
    [["--nope"], "unknown option --nope"],
    [["-x"], "unknown option -x"],
    [["--timeout"], "option --timeout needs a value"],
    [["--verbose=yes"], "option --verbose takes no value"],
    [["-o", "yaml"], 'option -o must be one of table, json, not "yaml"'],
  ])("%j is a usage error", (argv, message) => {
    expect(usage(() => parseArgv(argv, defs))).toBe(message);
  });
});

describe("parseDuration", () => {
  test.each([
    ["0", 0],
    ["250ms", 250],
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1_500],
  ])("%s is %d ms", (text, ms) => {
    expect(parseDuration(text, "--timeout")).toBe(ms);
  });

  test.each(["", "5", "abc", "-1s", "5 m", "1d", "s"])("%j is refused", (text) => {
    expect(usage(() => parseDuration(text, "--timeout"))).toStartWith(`invalid duration ${JSON.stringify(text)} for --timeout`);
  });
});
