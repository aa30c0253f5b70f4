import { describe, expect, test } from "bun:test";
import { UnitGraph, type GraphChange } from "../../src/graph/index.ts";
import { refusal } from "./_refusal.ts";

function finish(graph: UnitGraph, unit: string): void {
  graph.start(unit);
  graph.complete(unit);
}

const implicitOf = (graph: UnitGraph, unit: string) =>
  graph.dependenciesOf(unit).filter((d) => d.implicit === "first").map((d) => d.dependsOn);

describe("first", () => {
  test("holds back units registered before and after it; running ones are left alone", () => {
    const graph = new UnitGraph();
    graph.register("before");
    graph.start("running");
    expect(graph.declareFirst("apt-mirror")).toEqual({ held: 1, running: 1 });
    graph.register("after");
    expect({ before: graph.unsatisfiedOf("before"), after: graph.unsatisfiedOf("after"), running: graph.unsatisfiedOf("running") }).toEqual({
      before: ["apt-mirror"],
      after: ["apt-mirror"],
      running: [],
    });
    expect(graph.dependenciesOf("after")).toEqual([
      { dependsOn: "apt-mirror", requires: "success", declaredAt: expect.any(Number), implicit: "first", currentStatus: "pending", satisfied: false },
    ]);
    finish(graph, "apt-mirror");
    expect([graph.isReady("before"), graph.isReady("after")]).toEqual([true, true]);
  });

  test("what it depends on, transitively, does not wait for it: no cycle", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("apt-mirror", ["network"]);
    graph.declareDependencies("network", ["dns"]);
    graph.declareFirst("apt-mirror");
    graph.register("dns");
    graph.register("proxy");
    expect(["network", "dns", "proxy"].map((u) => implicitOf(graph, u))).toEqual([[], [], ["apt-mirror"]]);
    expect(graph.isReady("dns")).toBe(true);
  });

  test("a dependency it declares later stops waiting for it, and a waiting one is released", () => {
    const graph = new UnitGraph();
    graph.declareFirst("apt-mirror");
    graph.declareDependencies("network", ["dns"]);
    graph.register("dns");
    expect(implicitOf(graph, "dns")).toEqual(["apt-mirror"]);
    const changes: GraphChange[] = [];
    graph.subscribe((change) => changes.push(change));
    graph.declareDependencies("apt-mirror", ["network"]);
    expect(["network", "dns"].map((u) => implicitOf(graph, u))).toEqual([[], []]);
    expect(changes.filter((c) => c.type === "dependencies_removed").map(({ at: _, ...c }) => c)).toEqual([
      { type: "dependencies_removed", unit: "network", dependencies: ["apt-mirror"], because: "apt-mirror" },
      { type: "dependencies_removed", unit: "dns", dependencies: ["apt-mirror"], because: "apt-mirror" },
    ]);
    expect(graph.isReady("dns")).toBe(true);
  });

  test("several first units do not wait for each other, and their needs wait for none", () => {
    const graph = new UnitGraph();
    graph.declareFirst("apt-mirror");
    graph.declareFirst("proxy");
    graph.declareDependencies("apt-mirror", ["net"]);
    graph.register("app");
    expect(["apt-mirror", "proxy", "net", "app"].map((u) => implicitOf(graph, u))).toEqual([[], [], [], ["apt-mirror", "proxy"]]);
  });

  test("its failure fails every unit waiting for it at once, and later ones on registration", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("claude", ["git-clone"]);
    graph.declareFirst("apt-mirror");
    graph.fail("apt-mirror", "mirror unreachable");
    graph.register("late");
    expect(["claude", "late"].map((u) => `${graph.statusOf(u)}: ${graph.reasonOf(u)}`)).toEqual([
      'failed: dependency "apt-mirror" failed: mirror unreachable',
      'failed: dependency "apt-mirror" failed: mirror unreachable',
    ]);
  });

  test("declaring it on a unit that already failed fails the units it holds back", () => {
    const graph = new UnitGraph();
    graph.register("a");
    graph.fail("apt-mirror", "boom");
    graph.declareFirst("apt-mirror");
    expect(graph.statusOf("a")).toBe("failed");
  });

  test("a declared edge to it replaces the implicit one", () => {
    const graph = new UnitGraph();
    graph.declareFirst("f");
    graph.declareDependencies("a", ["f"], "started");
    expect(graph.dependenciesOf("a").map((d) => [d.dependsOn, d.requires, d.implicit])).toEqual([["f", "started", undefined]]);
  });

  test("a target is not held back: its members are", () => {
    const graph = new UnitGraph();
    graph.declareFirst("f");
    graph.declareTarget("t", ["m"]);
    graph.register("m");
    expect([implicitOf(graph, "t"), implicitOf(graph, "m")]).toEqual([[], ["f"]]);
  });

  test("first of a target makes its members part of the set-up phase", () => {
    const graph = new UnitGraph();
    graph.declareTarget("setup", ["mirror", "proxy"]);
    graph.declareFirst("setup");
    graph.register("mirror");
    graph.register("app");
    expect([implicitOf(graph, "mirror"), implicitOf(graph, "app")]).toEqual([[], ["setup"]]);
  });

  test("declaring it twice holds nobody twice", () => {
    const graph = new UnitGraph();
    graph.register("a");
    graph.declareFirst("f");
    expect(graph.declareFirst("f")).toEqual({ held: 1, running: 0 });
    expect(graph.dependenciesOf("a")).toHaveLength(1);
  });

  test("a want that would close a cycle through declared edges is still refused", () => {
    const graph = new UnitGraph();
    graph.declareFirst("f");
    graph.declareDependencies("a", ["f"]);
    expect(refusal(() => graph.declareDependencies("f", ["a"]))?.code).toBe("cycle");
  });

  test("implicit edges count against the dependency limit, once each", () => {
    const graph = new UnitGraph({ limits: { dependencies: 2 } });
    graph.declareFirst("f");
    graph.declareDependencies("x", ["f"]);
    graph.register("y");
    expect(refusal(() => graph.declareDependencies("z", ["w"]))?.code).toBe("limit_exceeded");
    expect(graph.statusOf("z")).toBeUndefined();
  });

  test("on 10,000 units, declaring and releasing stay linear", () => {
    const graph = new UnitGraph();
    for (let i = 0; i < 10_000; i++) graph.declareDependencies(`u${i}`, [`u${i + 1}`]);
    expect(graph.declareFirst("f")).toEqual({ held: 10_000, running: 0 });
    graph.declareDependencies("f", ["u9000"]);
    expect(implicitOf(graph, "u9999")).toEqual([]);
    expect(implicitOf(graph, "u8999")).toEqual(["f"]);
  });
});
