import { expect, test } from "bun:test";
import { formatTable } from "../../src/render/text.ts";

test("a column is padded to its widest cell, or to `widest` at most, past which a cell overflows", () => {
  const rows = [
    ["a", "exit code 1"],
    ["b", "x".repeat(30)],
  ];
  expect([formatTable(["unit", "reason"], rows), formatTable(["unit", "reason"], rows, 12)]).toEqual([
    ["UNIT  REASON                          ", "a     exit code 1                     ", `b     ${"x".repeat(30)}  `, ""].join("\n"),
    ["UNIT  REASON        ", "a     exit code 1   ", `b     ${"x".repeat(30)}  `, ""].join("\n"),
  ]);
});
