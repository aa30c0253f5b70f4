import { describe, expect, test } from "bun:test";
import { QUOTED_REASON_LENGTH, UnitGraph, type Requirement } from "../../src/graph/index.ts";
import { refusal } from "./_refusal.ts";

function states(graph: UnitGraph, ...units: string[]): Record<string, string> {
  return Object.fromEntries(
    units.map((u) => [u, `${graph.statusOf(u) ?? "not registered"}${graph.reasonOf(u) ? `: ${graph.reasonOf(u)}` : ""}`]),
  );
}


describe("failure", () => {
  test("fail records the reason and may register the unit", () => {
    const graph = new UnitGraph();
    graph.fail("git-clone", "exit code 128");
    expect(states(graph, "git-clone")).toEqual({ "git-clone": "failed: exit code 128" });
  });

  test("a chain fails at once, transitively, with the reason chain", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("claude", ["git-clone"]);
    graph.declareDependencies("review", ["claude"]);
    graph.start("git-clone");
    graph.fail("git-clone", "exit code 128");
    expect(states(graph, "git-clone", "claude", "review")).toEqual({
      "git-clone": "failed: exit code 128",
      claude: 'failed: dependency "git-clone" failed: exit code 128',
      review: 'failed: dependency "claude" failed: dependency "git-clone" failed: exit code 128',
    });
  });

  test("a diamond fails its top once, through whichever side failed first", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b", "c"]);
    graph.declareDependencies("b", ["d"]);
    graph.declareDependencies("c", ["d"]);
    const failures: string[] = [];
    graph.subscribe((c) => c.type === "status_changed" && c.to === "failed" && failures.push(c.unit));
    graph.fail("d", "boom");
    expect(failures).toEqual(["d", "b", "c", "a"]);
    expect(states(graph, "a")).toEqual({ a: 'failed: dependency "b" failed: dependency "d" failed: boom' });
  });

  test.each([
    ["success", "failed"],
    ["started", "failed"],
    ["completion", "pending"],
  ] as const)("a %s edge on a failed dependency leaves the dependent %s", (requires, expected) => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b"], requires);
    graph.fail("b", "");
    expect(graph.statusOf("a")).toBe(expected);
  });

  test.each([
    ["success", ["pending", "started", "completed", "failed"], [false, false, true, false]],
    ["completion", ["pending", "started", "completed", "failed"], [false, false, true, true]],
    ["started", ["pending", "started", "completed", "failed"], [false, true, true, false]],
  ] as const)("requirement %s is satisfied by %j as %j", (requires, _, expected) => {
    const seen: boolean[] = [];
    for (const reach of [() => {}, (g: UnitGraph) => g.start("b"), (g: UnitGraph) => g.complete("b"), (g: UnitGraph) => g.fail("b", "x")]) {
      const graph = new UnitGraph();
      graph.declareDependencies("a", ["b"], requires as Requirement);
      graph.register("b");
      reach(graph);
      seen.push(graph.isReady("a"));
    }
    expect(seen).toEqual([...expected]);
  });

  test("mixed requirements: propagation follows success edges only", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("report", ["tests"], "completion");
    graph.declareDependencies("deploy", ["tests"]);
    graph.declareDependencies("notify", ["report"]);
    graph.fail("tests", "3 failed");
    expect(states(graph, "report", "deploy", "notify")).toEqual({
      report: "pending",
      deploy: 'failed: dependency "tests" failed: 3 failed',
      notify: "pending",
    });
    expect(graph.isReady("report")).toBe(true);
  });

  test("a started unit runs on when a dependency fails later", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b"], "started");
    graph.start("b");
    graph.start("a");
    graph.fail("b", "crashed");
    expect(states(graph, "a")).toEqual({ a: "started" });
  });

  test("a dependency declared on an already failed unit fails the dependent at once", () => {
    const graph = new UnitGraph();
    graph.fail("db", "port 5432 never opened");
    graph.declareDependencies("api", ["db"]);
    expect(states(graph, "api")).toEqual({ api: 'failed: dependency "db" failed: port 5432 never opened' });
  });

  test("an own failure keeps its own reason when a dependency fails too", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b"]);
    graph.fail("a", "own");
    graph.fail("b", "theirs");
    expect(states(graph, "a")).toEqual({ a: "failed: own" });
  });

  test.each([
    ["complete of a failed unit", (g: UnitGraph) => (g.fail("a", "x"), g.complete("a")), 'unit "a" already failed; start it again to retry'],
    ["fail of a completed unit", (g: UnitGraph) => (g.start("a"), g.complete("a"), g.fail("a", "x")), 'unit "a" is already completed'],
    ["fail twice", (g: UnitGraph) => (g.fail("a", "x"), g.fail("a", "y")), 'unit "a" already failed: x'],
  ])("%s is refused", (_, action, message) => {
    const graph = new UnitGraph();
    expect(refusal(() => action(graph))).toEqual({ code: "wrong_state", message });
  });

  test("a unit failed by propagation can be failed on its own account", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b"]);
    graph.fail("b", "x");
    graph.fail("a", "gave up");
    expect(states(graph, "a")).toEqual({ a: "failed: gave up" });
  });

  test("a conflicting requirement for an existing edge is refused", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b"]);
    expect(refusal(() => graph.declareDependencies("a", ["b"], "completion"))).toEqual({
      code: "conflict",
      message: 'unit "a" already depends on "b" with requirement success, not completion',
    });
  });

  test("propagation through a long chain needs no deep recursion", () => {
    const graph = new UnitGraph();
    for (let i = 0; i < 20_000; i++) graph.declareDependencies(`u${i + 1}`, [`u${i}`]);
    graph.fail("u0", "x");
    expect(graph.statusOf("u20000")).toBe("failed");
  });
});

/** A chain u1 -> u2 -> ... -> u<length>, each unit depending on the next, whose last unit fails with `reason`. */
function failedChain(length: number, reason = "exit code 1"): UnitGraph {
  const graph = new UnitGraph();
  for (let i = 1; i < length; i++) graph.declareDependencies(`u${i}`, [`u${i + 1}`]);
  graph.fail(`u${length}`, reason);
  return graph;
}

describe("the reason of a propagated failure", () => {
  test.each([
    [1, 'dependency "u2" failed: exit code 1'],
    [2, 'dependency "u2" failed: dependency "u3" failed: exit code 1'],
    [3, 'dependency "u2" failed: ... 1 more failed dependency ...: dependency "u4" failed: exit code 1'],
    [4, 'dependency "u2" failed: ... 2 more failed dependencies ...: dependency "u5" failed: exit code 1'],
    [9_999, 'dependency "u2" failed: ... 9,997 more failed dependencies ...: dependency "u10000" failed: exit code 1'],
  ])("at depth %d: %s", (depth, reason) => {
    const graph = failedChain(depth + 1);
    expect({ reason: graph.reasonOf("u1"), summary: graph.units().find((u) => u.name === "u1")!.reason }).toEqual({
      reason,
      summary: reason,
    });
  });

  test("each failure's event carries the unit's reason", () => {
    const graph = new UnitGraph();
    for (let i = 1; i < 5; i++) graph.declareDependencies(`u${i}`, [`u${i + 1}`]);
    const events: Record<string, string | undefined> = {};
    graph.subscribe((c) => c.type === "status_changed" && (events[c.unit] = c.reason));
    graph.fail("u5", "exit code 1");
    expect(events).toEqual(Object.fromEntries(["u5", "u4", "u3", "u2", "u1"].map((u) => [u, graph.reasonOf(u)])));
  });

  test("a dependency declared on a deep failure counts one edge more", () => {
    const graph = failedChain(10_000);
    graph.declareDependencies("late", ["u1"]);
    expect(graph.reasonOf("late")).toBe(
      'dependency "u1" failed: ... 9,998 more failed dependencies ...: dependency "u10000" failed: exit code 1',
    );
  });

  test("an empty first reason leaves the last part out at every depth", () => {
    const graph = failedChain(4, "");
    expect([graph.reasonOf("u3"), graph.reasonOf("u2"), graph.reasonOf("u1")]).toEqual([
      'dependency "u4" failed',
      'dependency "u3" failed: dependency "u4" failed',
      'dependency "u2" failed: ... 1 more failed dependency ...: dependency "u4" failed',
    ]);
  });

  test("a long first reason is cut where it is quoted, and kept whole where it is the unit's own", () => {
    const long = `${"x".repeat(QUOTED_REASON_LENGTH)}tail`;
    const graph = failedChain(4, long);
    const cut = `${"x".repeat(QUOTED_REASON_LENGTH - 3)}...`;
    expect([graph.reasonOf("u4"), graph.reasonOf("u3"), graph.reasonOf("u2"), graph.reasonOf("u1")]).toEqual([
      long,
      `dependency "u4" failed: ${cut}`,
      `dependency "u3" failed: dependency "u4" failed: ${cut}`,
      `dependency "u2" failed: ... 1 more failed dependency ...: dependency "u4" failed: ${cut}`,
    ]);
  });

  test("the cut never splits a character outside the Basic Multilingual Plane", () => {
    const graph = failedChain(2, `${"x".repeat(QUOTED_REASON_LENGTH - 4)}${"😀".repeat(10)}`);
    expect(graph.reasonOf("u1")).toBe(`dependency "u2" failed: ${"x".repeat(QUOTED_REASON_LENGTH - 4)}...`);
  });

  test("reasons down a 10,000-deep chain stay short, even under a long first reason", () => {
    const graph = failedChain(10_000, "r".repeat(60_000));
    const lengths = graph.units().map((u) => (u.name === "u10000" ? 0 : u.reason!.length));
    expect(Math.max(...lengths)).toBeLessThan(QUOTED_REASON_LENGTH + 100);
  });

  test("a diamond takes the reason of the side that failed first", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b", "c"]);
    graph.declareDependencies("b", ["d"]);
    graph.declareDependencies("c", ["e"]);
    graph.declareDependencies("d", ["f"]);
    graph.declareDependencies("e", ["f"]);
    const failures: string[] = [];
    graph.subscribe((c) => c.type === "status_changed" && c.to === "failed" && failures.push(c.unit));
    graph.fail("f", "boom");
    expect({ failures, a: graph.reasonOf("a") }).toEqual({
      failures: ["f", "d", "e", "b", "c", "a"],
      a: 'dependency "b" failed: ... 1 more failed dependency ...: dependency "f" failed: boom',
    });
    graph.reopen("f");
    expect(graph.units().filter((u) => u.status !== "pending")).toEqual([]);
  });
});

describe("retry", () => {
  test("reopening a failed unit re-arms the cone it blocked", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("claude", ["git-clone"]);
    graph.declareDependencies("review", ["claude"]);
    graph.fail("git-clone", "exit code 128");
    graph.reopen("git-clone");
    expect(states(graph, "git-clone", "claude", "review")).toEqual({
      "git-clone": "pending",
      claude: "pending",
      review: "pending",
    });
    graph.start("git-clone");
    graph.complete("git-clone");
    expect(graph.isReady("claude")).toBe(true);
  });

  test("a unit blocked by two failures stays failed until both are retried", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b", "c"]);
    graph.fail("b", "x");
    graph.fail("c", "y");
    graph.reopen("b");
    expect(graph.statusOf("a")).toBe("failed");
    graph.reopen("c");
    expect(graph.statusOf("a")).toBe("pending");
  });

  test("an own failure is not re-armed by its dependency's retry", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b"]);
    graph.fail("a", "own");
    graph.fail("b", "x");
    graph.reopen("b");
    expect(states(graph, "a")).toEqual({ a: "failed: own" });
  });

  test("retrying the first failure of a 10,000-deep chain re-arms the whole chain, and it can fail again", () => {
    const graph = failedChain(10_000);
    expect(refusal(() => graph.reopen("u1"))).toEqual({
      code: "dependency_failed",
      message: 'u1: dependency "u2" failed: ... 9,997 more failed dependencies ...: dependency "u10000" failed: exit code 1',
    });
    graph.reopen("u10000");
    expect(graph.units().filter((u) => u.status !== "pending" || u.reason !== undefined)).toEqual([]);
    graph.fail("u10000", "exit code 2");
    expect(graph.reasonOf("u1")).toBe('dependency "u2" failed: ... 9,997 more failed dependencies ...: dependency "u10000" failed: exit code 2');
  });

  test("reopening a unit whose own dependency failed is refused, changing nothing", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("claude", ["git-clone"]);
    graph.fail("git-clone", "exit code 128");
    expect(refusal(() => graph.reopen("claude"))).toEqual({
      code: "dependency_failed",
      message: 'claude: dependency "git-clone" failed: exit code 128',
    });
    expect(graph.statusOf("claude")).toBe("failed");
  });
});
