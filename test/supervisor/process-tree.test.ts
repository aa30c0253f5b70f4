import { describe, expect, test } from "bun:test";
import { childrenOf, liveGroups, readProcessTable, treeUnder, type ProcessEntry } from "../../src/supervisor/process-tree.ts";

function entry(parent: number, group: number, zombie = false): ProcessEntry {
  return { parent, group, zombie, state: zombie ? "Z" : "S", threads: 1 };
}

describe("the process tree", () => {
  // 1 ─ 10 ─ 11 ─ 12
  //        └ 13 (zombie) ─ 14
  //   └ 20 (group 20)
  const table = new Map<number, ProcessEntry>([
    [1, entry(0, 1)],
    [10, entry(1, 10)],
    [11, entry(10, 10)],
    [12, entry(11, 10)],
    [13, entry(10, 10, true)],
    [14, entry(13, 10)],
    [20, entry(1, 20)],
  ]);

  test("treeUnder is the live processes below a root, the root included, a zombie's subtree cut", () => {
    expect([treeUnder(10, table), treeUnder(11, table), treeUnder(20, table), treeUnder(99, table)]).toEqual([[10, 11, 12], [11, 12], [20], []]);
  });

  test("childrenOf keeps zombies, which their parent is about to reap", () => {
    expect(Object.fromEntries(childrenOf(table))).toEqual({ 0: [1], 1: [10, 20], 10: [11, 13], 11: [12], 13: [14] });
  });

  test("liveGroups keeps a group while any live member is left", () => {
    const ended = new Map(table);
    ended.set(20, entry(1, 20, true));
    expect([liveGroups([10, 20, 30], table), liveGroups([10, 20, 30], ended)]).toEqual([
      [10, 20],
      [10],
    ]);
  });

  test("readProcessTable sees this process and its parent as they are", async () => {
    const read = await readProcessTable();
    const self = read.get(process.pid);
    expect({ parent: self?.parent, zombie: self?.zombie, group: self?.group }).toEqual({
      parent: process.ppid,
      zombie: false,
      group: expect.any(Number) as unknown as number,
    });
    expect(read.has(process.ppid)).toBe(true);
  });
});
