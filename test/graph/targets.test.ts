import { describe, expect, test } from "bun:test";
import { UnitGraph, type GraphChange } from "../../src/graph/index.ts";
import { refusal } from "./_refusal.ts";

function states(graph: UnitGraph, ...units: string[]): Record<string, string> {
  return Object.fromEntries(
    units.map((u) => [u, `${graph.statusOf(u) ?? "not registered"}${graph.reasonOf(u) ? `: ${graph.reasonOf(u)}` : ""}`]),
  );
}

function finish(graph: UnitGraph, unit: string): void {
  graph.start(unit);
  graph.complete(unit);
}

describe("targets", () => {
  test("completes by itself when its last member completes, releasing its dependents", () => {
    const graph = new UnitGraph();
    expect(graph.declareTarget("git-clone", ["git-clone/fetch", "git-clone/checkout"])).toEqual({
      added: ["git-clone/fetch", "git-clone/checkout"],
      members: 2,
    });
    graph.declareDependencies("claude", ["git-clone"]);
    finish(graph, "git-clone/fetch");
    expect(states(graph, "git-clone", "claude")).toEqual({ "git-clone": "pending", claude: "pending" });
    expect(graph.isReady("claude")).toBe(false);
    finish(graph, "git-clone/checkout");
    expect(states(graph, "git-clone")).toEqual({ "git-clone": "completed" });
    expect(graph.isReady("claude")).toBe(true);
  });

  test("with no members it stays pending", () => {
    const graph = new UnitGraph();
    expect(graph.declareTarget("module", [])).toEqual({ added: [], members: 0 });
    expect({ status: graph.statusOf("module"), target: graph.isTarget("module") }).toEqual({ status: "pending", target: true });
  });

  test("members already completed complete it at once", () => {
    const graph = new UnitGraph();
    finish(graph, "a");
    graph.declareTarget("t", ["a"]);
    expect(graph.statusOf("t")).toBe("completed");
  });

  test("fails with the member's reason, and its dependents with the chain", () => {
    const graph = new UnitGraph();
    graph.declareTarget("git-clone", ["fetch", "checkout"]);
    graph.declareDependencies("claude", ["git-clone"]);
    graph.fail("fetch", "exit code 128");
    expect(states(graph, "git-clone", "claude", "checkout")).toEqual({
      "git-clone": 'failed: dependency "fetch" failed: exit code 128',
      claude: 'failed: dependency "git-clone" failed: dependency "fetch" failed: exit code 128',
      checkout: "not registered",
    });
  });

  test("a retried member re-arms the target, which then completes", () => {
    const graph = new UnitGraph();
    graph.declareTarget("t", ["m"]);
    graph.fail("m", "flaky");
    graph.start("m");
    expect(graph.statusOf("t")).toBe("pending");
    graph.complete("m");
    expect(graph.statusOf("t")).toBe("completed");
  });

  test("targets of targets: module depends on module", () => {
    const graph = new UnitGraph();
    graph.declareTarget("workspace", ["git-clone", "tools"]);
    graph.declareTarget("git-clone", ["fetch"]);
    graph.declareTarget("tools", ["node", "python"]);
    for (const unit of ["fetch", "node"]) finish(graph, unit);
    expect(states(graph, "git-clone", "tools", "workspace")).toEqual({ "git-clone": "completed", tools: "pending", workspace: "pending" });
    finish(graph, "python");
    expect(states(graph, "tools", "workspace")).toEqual({ tools: "completed", workspace: "completed" });
  });

  test("members may be added until it completes, never after", () => {
    const graph = new UnitGraph();
    graph.declareTarget("t", ["a"]);
    expect(graph.declareTarget("t", ["hook", "a"])).toEqual({ added: ["hook"], members: 2 });
    finish(graph, "a");
    expect(graph.statusOf("t")).toBe("pending");
    finish(graph, "hook");
    expect(refusal(() => graph.declareTarget("t", ["late"]))).toEqual({
      code: "wrong_state",
      message: 'target "t" already completed, so it cannot gather [late]; add members before their target completes',
    });
    expect(graph.declareTarget("t", ["a", "hook"])).toEqual({ added: [], members: 2 });
  });

  test("a cycle through members is refused, naming the whole cycle", () => {
    const graph = new UnitGraph();
    graph.declareTarget("outer", ["inner"]);
    graph.declareTarget("inner", ["leaf"]);
    graph.declareDependencies("leaf", ["x"]);
    expect(refusal(() => graph.declareTarget("x", ["outer"]))).toEqual({
      code: "cycle",
      message: "adding member (x -> outer): cycle detected: x -> outer -> inner -> leaf -> x",
    });
    expect(graph.statusOf("x")).toBeUndefined();
  });

  test.each([
    ["start", (g: UnitGraph) => g.start("t"), '"t" is a target and cannot be started: it completes by itself once all its members have completed'],
    ["complete", (g: UnitGraph) => g.complete("t"), '"t" is a target and cannot be completed by hand: it completes by itself once all its members have completed'],
    ["fail", (g: UnitGraph) => g.fail("t", "x"), '"t" is a target and cannot be failed by hand: it fails when one of its members fails; fail that member'],
    ["want", (g: UnitGraph) => g.declareDependencies("t", ["x"]), '"t" is a target and cannot wait for other units; add members with "unitsync target t MEMBER..."'],
  ])("%s of a target is refused", (_, action, message) => {
    const graph = new UnitGraph();
    graph.declareTarget("t", ["m"]);
    expect(refusal(() => action(graph))).toEqual({ code: "is_target", message });
    expect(graph.statusOf("t")).toBe("pending");
  });

  test("a name already registered as an ordinary unit cannot become a target", () => {
    const graph = new UnitGraph();
    graph.register("u");
    expect(refusal(() => graph.declareTarget("u", ["m"]))?.code).toBe("conflict");
  });

  test("reports members_added, and the completion as a status change", () => {
    const graph = new UnitGraph();
    const changes: GraphChange[] = [];
    graph.subscribe((change) => changes.push(change));
    graph.declareTarget("t", ["m"]);
    finish(graph, "m");
    expect(changes.map(({ at: _, ...rest }) => rest)).toEqual([
      { type: "registered", unit: "t", target: true },
      { type: "members_added", unit: "t", members: ["m"] },
      { type: "registered", unit: "m" },
      { type: "start_requested", unit: "m", unsatisfied: [] },
      { type: "status_changed", unit: "m", from: "pending", to: "started" },
      { type: "status_changed", unit: "m", from: "started", to: "completed" },
      { type: "status_changed", unit: "t", from: "pending", to: "completed" },
    ]);
  });

  test("a target with 10,000 members completes in linear time", () => {
    const graph = new UnitGraph();
    const members = Array.from({ length: 10_000 }, (_, i) => `m${i}`);
    graph.declareTarget("t", members);
    for (const member of members) {
      graph.register(member);
      graph.complete(member);
    }
    expect(graph.statusOf("t")).toBe("completed");
  });
});
