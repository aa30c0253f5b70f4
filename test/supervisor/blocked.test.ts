import { describe, expect, test } from "bun:test";
import { blockedProcesses, type ProcessFacts } from "../../src/supervisor/blocked.ts";
import type { PipeEnd } from "../../src/supervisor/process-tree.ts";

const reads = (inode: number): PipeEnd => ({ inode, read: true, write: false });
const writes = (inode: number): PipeEnd => ({ inode, read: false, write: true });

/** Shorthands for one process: [pid, parent, what it does, its pipe ends]. */
type Row = [pid: number, parent: number, doing: "start" | "pipe" | "children" | "other" | "running" | "zombie" | "threaded", pipes?: PipeEnd[]];

function blocked(rows: Row[]): number[] {
  const table = new Map<number, ProcessFacts>();
  const starts = new Set<number>();
  for (const [pid, parent, doing, pipes] of rows) {
    if (doing === "start") starts.add(pid);
    table.set(pid, {
      parent,
      state: doing === "running" ? "R" : doing === "zombie" ? "Z" : "S",
      zombie: doing === "zombie",
      threads: doing === "threaded" ? 4 : 1,
      sleepsIn: doing === "pipe" || doing === "children" || doing === "other" ? doing : doing === "running" || doing === "threaded" ? "pipe" : undefined,
      pipes: pipes ?? [],
    });
  }
  return [...blockedProcesses(table, starts)].sort((a, b) => a - b);
}

describe("blockedProcesses", () => {
  test.each<[string, Row[], number[]]>([
    ["a waiting start", [[10, 1, "start"]], [10]],
    ["a shell waiting for a start", [[10, 1, "children"], [11, 10, "start"]], [10, 11]],
    ["start | tee", [[10, 1, "children"], [11, 10, "start", [writes(7)]], [12, 10, "pipe", [reads(7)]]], [10, 11, 12]],
    [
      "{ start; } | while read: a subshell waiting, a subshell reading",
      [[10, 1, "children"], [11, 10, "children", [writes(7)]], [12, 11, "start", [writes(7)]], [13, 10, "pipe", [reads(7)]]],
      [10, 11, 12, 13],
    ],
    ["x=$(start): the shell reads the pipe", [[10, 1, "pipe", [reads(7)]], [11, 10, "start", [writes(7)]]], [10, 11]],
    [
      "exec > >(tee log): the shell writes to the tee it waits beside",
      [[10, 1, "children", [writes(7)]], [11, 10, "pipe", [reads(7)]], [12, 10, "start", [writes(7)]]],
      [10, 11, 12],
    ],
    [
      "a pipe also written by a sleeping process",
      [[10, 1, "start", [writes(7)]], [11, 1, "other", [writes(7)]], [12, 1, "pipe", [reads(7)]]],
      [10],
    ],
    ["a pipe also written by a running process", [[10, 1, "start", [writes(7)]], [11, 1, "running", [writes(7)]], [12, 1, "pipe", [reads(7)]]], [10]],
    ["a pipe with no writer left: the reader gets its end of file", [[10, 1, "start"], [12, 1, "pipe", [reads(7)]]], [10]],
    ["a reader of a pipe it cannot be shown", [[10, 1, "start", [writes(7)]], [12, 1, "pipe", []]], [10]],
    [
      "a reader of two pipes, one of them written by a busy process",
      [[10, 1, "start", [writes(7)]], [11, 1, "other", [writes(8)]], [12, 1, "pipe", [reads(7), reads(8)]]],
      [10],
    ],
    [
      "a reader of a FIFO beside a pipe from a start: anyone may open the FIFO",
      [[10, 1, "start", [writes(7)]], [12, 1, "pipe", [reads(7), { inode: 9, read: true, write: false, named: true }]]],
      [10],
    ],
    ["a shell waiting for a start and a sleep", [[10, 1, "children"], [11, 10, "start"], [12, 10, "other"]], [11]],
    ["a shell waiting with a zombie child it is about to reap", [[10, 1, "children"], [11, 10, "start"], [12, 10, "zombie"]], [11]],
    ["a shell waiting with no child at all", [[10, 1, "children"], [11, 1, "start"]], [11]],
    ["a reader with more threads than the one asleep", [[10, 1, "start", [writes(7)]], [12, 1, "threaded", [reads(7)]]], [10]],
    ["a shell that is running, not waiting", [[10, 1, "running"], [11, 10, "start"]], [11]],
    [
      "a chain: tee reads a subshell that waits for a shell reading a start's pipe",
      [[10, 1, "pipe", [reads(8)]], [11, 1, "children", [writes(8)]], [12, 11, "pipe", [reads(7), writes(8)]], [13, 12, "start", [writes(7)]]],
      [10, 11, 12, 13],
    ],
    [
      "the same chain with a busy process at the bottom",
      [[10, 1, "pipe", [reads(8)]], [11, 1, "children", [writes(8)]], [12, 11, "pipe", [reads(7), writes(8)]], [13, 12, "other", [writes(7)]]],
      [],
    ],
  ])("%s", (_shape, rows, expected) => {
    expect(blocked(rows)).toEqual(expected);
  });
});
