import { expect, test } from "bun:test";
import { isTerminal } from "../../src/render/terminal.ts";

test.each([
  [0, () => process.stdin.isTTY],
  [1, () => process.stdout.isTTY],
  [2, () => process.stderr.isTTY],
] as const)("isTerminal(%d) says what Node's stream says", (fd, stream) => {
  expect(isTerminal(fd)).toBe(stream() === true);
});
