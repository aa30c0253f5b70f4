// The lock table alone: one holder, first come first served, a released lock passed on in
// the same step, waiters that leave, and clients gone before their turn.
import { describe, expect, test } from "bun:test";
import type { LockLine } from "../../src/protocol/index.ts";
import { LockHolds } from "../../src/server/lock-holds.ts";
import { LockTable, type LockChange, type LockClaim } from "../../src/server/locks.ts";

function table() {
  let now = 0;
  const locks = new LockTable(() => (now += 1));
  const changes: LockChange[] = [];
  locks.subscribe((change) => changes.push(change));
  const granted: number[] = [];
  const ask = (pid: number, lock = "apt", accepts = true): LockClaim =>
    locks.request(lock, { pid }, () => {
      granted.push(pid);
      return accepts;
    });
  const summary = () => locks.snapshot().map(({ lock, holder, waiters }) => ({ lock, holder: holder?.pid, waiters: waiters.map((w) => w.pid) }));
  return { locks, changes, granted, ask, summary };
}

describe("LockTable", () => {
  test("the first claim holds at once, the others queue in arrival order and are granted one by one", () => {
    const { locks, granted, ask, summary } = table();
    const claims = [1, 2, 3, 4].map((pid) => ask(pid));
    expect(locks.holds(claims[0]!)).toBe(true);
    expect(summary()).toEqual([{ lock: "apt", holder: 1, waiters: [2, 3, 4] }]);
    locks.withdraw(claims[0]!);
    expect(granted).toEqual([2]);
    locks.withdraw(claims[1]!);
    locks.withdraw(claims[2]!);
    expect(granted).toEqual([2, 3, 4]);
    expect(summary()).toEqual([{ lock: "apt", holder: 4, waiters: [] }]);
    locks.withdraw(claims[3]!);
    expect(summary()).toEqual([]);
    expect(locks.size).toBe(0);
  });

  test("a waiter that leaves is never granted, and the order of the rest stays", () => {
    const { locks, granted, ask, summary, changes } = table();
    const [holder, , leaver] = [1, 2, 3, 4].map((pid) => ask(pid));
    locks.withdraw(leaver!);
    locks.withdraw(leaver!);
    expect(changes.filter((c) => c.type === "lock_left")).toEqual([{ type: "lock_left", lock: "apt", pid: 3, at: 6, waited_ms: 2 }]);
    expect(summary()).toEqual([{ lock: "apt", holder: 1, waiters: [2, 4] }]);
    locks.withdraw(holder!);
    expect(granted).toEqual([2]);
    expect(locks.size).toBe(2);
  });

  test("a waiter whose client is gone declines, and the lock moves on in the same release", () => {
    const { locks, granted, ask, summary, changes } = table();
    const holder = ask(1);
    ask(2, "apt", false);
    ask(3, "apt", false);
    ask(4);
    locks.withdraw(holder);
    expect(granted).toEqual([2, 3, 4]);
    expect(summary()).toEqual([{ lock: "apt", holder: 4, waiters: [] }]);
    expect(locks.size).toBe(1);
    expect(changes.filter((c) => c.type !== "lock_waiting").map((c) => `${c.type} ${c.pid}`)).toEqual([
      "lock_acquired 1",
      "lock_released 1",
      "lock_acquired 2",
      "lock_released 2",
      "lock_acquired 3",
      "lock_released 3",
      "lock_acquired 4",
    ]);
  });

  test("a waiter's place in line counts only those still waiting ahead of it", () => {
    const { locks, ask } = table();
    const [holder, second, third, fourth] = [1, 2, 3, 4].map((pid) => ask(pid));
    expect([holder, second, third, fourth].map((c) => locks.positionOf(c!))).toEqual([undefined, 1, 2, 3]);
    locks.withdraw(second!);
    expect([second, third, fourth].map((c) => locks.positionOf(c!))).toEqual([undefined, 1, 2]);
    locks.withdraw(holder!);
    expect([third, fourth].map((c) => locks.positionOf(c!))).toEqual([undefined, 1]);
    expect(locks.holderOf("apt")).toBe(third!);
  });

  test("locks are independent, listed by name, and forgotten when idle", () => {
    const { locks, ask, summary } = table();
    const npm = ask(1, "npm");
    ask(2, "apt");
    ask(3, "npm");
    expect(summary()).toEqual([
      { lock: "apt", holder: 2, waiters: [] },
      { lock: "npm", holder: 1, waiters: [3] },
    ]);
    locks.withdraw(npm);
    expect(summary().map((s) => s.holder)).toEqual([2, 3]);
  });

  test("events say who waits behind whom, how long each waited and held", () => {
    const { locks, ask, changes } = table();
    const first = ask(1);
    ask(2);
    locks.withdraw(first);
    expect(changes).toEqual([
      { type: "lock_acquired", lock: "apt", pid: 1, at: 2, waited_ms: 1 },
      { type: "lock_waiting", lock: "apt", pid: 2, at: 3, held_by: { pid: 1 } },
      { type: "lock_released", lock: "apt", pid: 1, at: 4, held_ms: 2 },
      { type: "lock_acquired", lock: "apt", pid: 2, at: 5, waited_ms: 2 },
    ]);
  });

  test("a release costs the same whatever the queue's length: 10,000 waiters served in order", () => {
    const { locks, granted, ask } = table();
    const claims = Array.from({ length: 10_000 }, (_, i) => ask(i));
    for (const claim of claims) locks.withdraw(claim);
    expect(granted).toEqual(Array.from({ length: 9_999 }, (_, i) => i + 1));
    expect(locks.size).toBe(0);
  });
});

describe("LockHolds", () => {
  const sink = () => ({ lines: [] as LockLine[], ended: false, gone: false, write(line: LockLine) { this.lines.push(line); }, end() { this.ended = true; } });

  test("past its limit of open requests a new one is refused whole, and nothing changes", () => {
    const locks = new LockTable(() => 0);
    const holds = new LockHolds(locks, 2);
    holds.begin("apt", { pid: 1 }, sink(), 0);
    holds.begin("npm", { pid: 2 }, sink(), 0);
    expect(() => holds.begin("apt", { pid: 3 }, sink(), 0)).toThrow("2 lock requests are already open, the most this server allows");
    expect(locks.size).toBe(2);
  });

  test("the next waiter hears acquired in the same step its holder's client goes away", () => {
    const locks = new LockTable(() => 0);
    const holds = new LockHolds(locks);
    const [first, second] = [sink(), sink()];
    const leave = holds.begin("apt", { pid: 1 }, first, 0);
    holds.begin("apt", { pid: 2, script: "20-pip.sh" }, second, 0);
    expect(second.lines).toEqual([{ type: "waiting", lock: "apt", held_by: { pid: 1 }, position: 1 }]);
    leave();
    expect([first.lines, second.lines.at(-1)]).toEqual([[{ type: "acquired", lock: "apt", waited_ms: 0 }], { type: "acquired", lock: "apt", waited_ms: 0 }]);
  });
});
