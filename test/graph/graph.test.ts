import { describe, expect, test } from "bun:test";
import { UnitGraph, type GraphChange } from "../../src/graph/index.ts";
import { refusal } from "./_refusal.ts";


function recorded(graph: UnitGraph): GraphChange[] {
  const changes: GraphChange[] = [];
  graph.subscribe((change) => changes.push(change));
  return changes;
}

describe("registration", () => {
  test("a new unit is pending and ready", () => {
    const graph = new UnitGraph();
    expect(graph.register("a")).toBe(true);
    expect({ status: graph.statusOf("a"), ready: graph.isReady("a"), size: graph.size }).toEqual({
      status: "pending",
      ready: true,
      size: 1,
    });
  });

  test("registering again is a no-op that keeps the status", () => {
    const graph = new UnitGraph();
    graph.start("a");
    expect(graph.register("a")).toBe(false);
    expect(graph.statusOf("a")).toBe("started");
  });

  test("an unregistered unit has no status and is ready", () => {
    const graph = new UnitGraph();
    expect({ status: graph.statusOf("x"), ready: graph.isReady("x"), deps: graph.dependenciesOf("x") }).toEqual({
      status: undefined,
      ready: true,
      deps: [],
    });
  });

  test.each([
    ["", "unit name is required"],
    ["a\nb", 'unit name "a\\nb" contains a control character'],
    ["tab\there", 'unit name "tab\\there" contains a control character'],
    ["del\u007f", 'unit name "del\\u007f" contains a control character'],
    ["x".repeat(256), "unit name is 256 bytes long; the limit is 255"],
    ["é".repeat(128), "unit name is 256 bytes long; the limit is 255"],
    ["lone\ud800", "unit name is not valid UTF-8 text"],
    ["\udfff", "unit name is not valid UTF-8 text"],
  ])("name %j is refused", (name, message) => {
    const graph = new UnitGraph();
    expect(refusal(() => graph.register(name))).toEqual({ code: "invalid_name", message });
    expect(graph.size).toBe(0);
  });

  test.each(["x".repeat(255), "org.module/git clone", "ünïcode-✓", "a.b:c@d"])("name %j is accepted", (name) => {
    const graph = new UnitGraph();
    expect(graph.register(name)).toBe(true);
  });
});

describe("dependencies and readiness", () => {
  test("a dependency on an unregistered unit is allowed and unsatisfied", () => {
    const graph = new UnitGraph();
    expect(graph.declareDependencies("a", ["b"])).toEqual(["b"]);
    expect({
      a: graph.statusOf("a"),
      b: graph.statusOf("b"),
      ready: graph.isReady("a"),
      deps: graph.dependenciesOf("a"),
      listed: graph.units().map((u) => u.name),
    }).toEqual({
      a: "pending",
      b: undefined,
      ready: false,
      deps: [{ dependsOn: "b", requires: "success", declaredAt: 2, currentStatus: undefined, satisfied: false }],
      listed: ["a"],
    });
  });

  test("readiness needs the exact status: registered and started are not completed", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b"]);
    graph.register("b");
    expect(graph.isReady("a")).toBe(false);
    graph.start("b");
    expect(graph.isReady("a")).toBe(false);
    graph.complete("b");
    expect({ ready: graph.isReady("a"), status: graph.statusOf("a") }).toEqual({ ready: true, status: "pending" });
  });

  test("a unit with several dependencies is ready only when all are completed", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["c", "b"]);
    graph.start("b");
    graph.complete("b");
    expect(graph.unsatisfiedOf("a")).toEqual(["c"]);
    graph.register("c");
    graph.complete("c");
    expect(graph.isReady("a")).toBe(true);
  });

  test("a diamond releases its top only after both sides complete", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b", "c"]);
    graph.declareDependencies("b", ["d"]);
    graph.declareDependencies("c", ["d"]);
    graph.start("d");
    expect(graph.units().map((u) => [u.name, u.ready])).toEqual([
      ["a", false],
      ["b", false],
      ["c", false],
      ["d", true],
    ]);
    graph.complete("d");
    expect([graph.isReady("b"), graph.isReady("c"), graph.isReady("a")]).toEqual([true, true, false]);
    graph.start("b");
    graph.complete("b");
    expect(graph.isReady("a")).toBe(false);
    graph.start("c");
    graph.complete("c");
    expect(graph.isReady("a")).toBe(true);
  });

  test("declaring the same dependency twice keeps one edge", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b", "b"]);
    expect(graph.declareDependencies("a", ["b"])).toEqual(["b"]);
    expect(graph.dependenciesOf("a")).toHaveLength(1);
  });

  test("a dependency declared after start makes the started unit not ready, status unchanged", () => {
    const graph = new UnitGraph();
    graph.start("a");
    graph.declareDependencies("a", ["b"]);
    expect({ status: graph.statusOf("a"), ready: graph.isReady("a") }).toEqual({ status: "started", ready: false });
  });

  test("dependents are tracked by reverse edges", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["d"]);
    graph.declareDependencies("b", ["d"]);
    expect([...graph.dependentsOf("d")].sort()).toEqual(["a", "b"]);
  });

  test("units are listed sorted by name with readiness", () => {
    const graph = new UnitGraph();
    graph.start("unit-a");
    graph.start("unit-b");
    graph.complete("unit-b");
    graph.declareDependencies("unit-c", ["unit-a"]);
    expect(graph.units()).toEqual([
      {
        name: "unit-a",
        status: "started",
        ready: true,
        reason: undefined,
        times: { registered: 1, startRequested: 2, started: 3 },
        dependencies: [],
      },
      {
        name: "unit-b",
        status: "completed",
        ready: true,
        reason: undefined,
        times: { registered: 4, startRequested: 5, started: 6, ended: 7 },
        dependencies: [],
      },
      {
        name: "unit-c",
        status: "pending",
        ready: false,
        reason: undefined,
        times: { registered: 8 },
        dependencies: [{ dependsOn: "unit-a", requires: "success", declaredAt: 9 }],
      },
    ]);
  });
});

describe("cycles", () => {
  test.each([
    ["self", [], ["a", "a"], "adding edge (a -> a): cycle detected: a -> a"],
    ["pair", [["a", "b"]], ["b", "a"], "adding edge (b -> a): cycle detected: b -> a -> b"],
    [
      "long",
      [
        ["a", "b"],
        ["b", "c"],
        ["c", "d"],
      ],
      ["d", "a"],
      "adding edge (d -> a): cycle detected: d -> a -> b -> c -> d",
    ],
  ] as const)("a %s cycle is refused and names the whole cycle", (_, edges, [unit, dep], message) => {
    const graph = new UnitGraph();
    for (const [from, to] of edges) graph.declareDependencies(from, [to]);
    const before = graph.units();
    expect(refusal(() => graph.declareDependencies(unit, [dep]))).toEqual({ code: "cycle", message });
    expect(graph.units()).toEqual(before);
  });

  test("a refused want is all or nothing: no earlier edge, no registration", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("b", ["a"]);
    expect(refusal(() => graph.declareDependencies("a", ["x", "b", "y"]))?.code).toBe("cycle");
    expect({ a: graph.statusOf("a"), deps: graph.dependenciesOf("a") }).toEqual({ a: undefined, deps: [] });
  });

  test("a bad dependency name refuses the whole want", () => {
    const graph = new UnitGraph();
    expect(refusal(() => graph.declareDependencies("a", ["ok", ""]))).toEqual({
      code: "invalid_name",
      message: "dependency name is required",
    });
    expect(graph.statusOf("a")).toBeUndefined();
  });

  test("a cycle is found through a long chain without recursion limits", () => {
    const graph = new UnitGraph();
    for (let i = 0; i < 20_000; i++) graph.declareDependencies(`u${i}`, [`u${i + 1}`]);
    expect(refusal(() => graph.declareDependencies("u20000", ["u0"]))?.code).toBe("cycle");
  });
});

describe("status transitions", () => {
  test.each([
    ["start of a started unit", (g: UnitGraph) => (g.start("a"), g.start("a")), 'unit "a" is already started'],
    [
      "start of a completed unit",
      (g: UnitGraph) => (g.start("a"), g.complete("a"), g.start("a")),
      'unit "a" is already completed; a completed unit cannot start again',
    ],
    ["complete twice", (g: UnitGraph) => (g.start("a"), g.complete("a"), g.complete("a")), 'unit "a" is already completed'],
    [
      "start of a unit that is not ready",
      (g: UnitGraph) => (g.declareDependencies("a", ["b"]), g.start("a")),
      'unit "a" is not ready: waiting for [b]',
    ],
  ])("%s is refused", (_, action, message) => {
    const graph = new UnitGraph();
    expect(refusal(() => action(graph))).toEqual({ code: "wrong_state", message });
  });

  test("complete of an unregistered unit is refused", () => {
    const graph = new UnitGraph();
    expect(refusal(() => graph.complete("ghost"))).toEqual({
      code: "not_registered",
      message: 'unit "ghost" is not registered; "want" or "start" registers a unit',
    });
  });

  test("complete without start is allowed, and satisfies dependents", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b"]);
    graph.register("b");
    graph.complete("b");
    expect({ b: graph.statusOf("b"), ready: graph.isReady("a") }).toEqual({ b: "completed", ready: true });
  });
});

describe("change events", () => {
  test("each change is reported once, in order", () => {
    const graph = new UnitGraph();
    const changes = recorded(graph);
    graph.declareDependencies("a", ["b"]);
    graph.declareDependencies("a", ["b"]);
    graph.start("b");
    graph.complete("b");
    expect(changes).toEqual([
      { type: "registered", unit: "a", at: 1 },
      { type: "dependencies_added", unit: "a", at: 2, dependencies: ["b"], requires: "success" },
      { type: "registered", unit: "b", at: 3 },
      { type: "start_requested", unit: "b", at: 4, unsatisfied: [] },
      { type: "status_changed", unit: "b", at: 5, from: "pending", to: "started" },
      { type: "status_changed", unit: "b", at: 6, from: "started", to: "completed" },
    ]);
  });

  test("a change made by a listener reaches every listener after the change that caused it", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("a", ["b"]);
    graph.start("b");
    graph.subscribe((change) => {
      if (change.type === "status_changed" && change.unit === "b") graph.start("a");
    });
    const changes = recorded(graph);
    graph.complete("b");
    expect(changes.map((c) => `${c.unit}:${c.type === "status_changed" ? c.to : c.type}`)).toEqual([
      "b:completed",
      "a:start_requested",
      "a:started",
    ]);
  });

  test("unsubscribing stops the events", () => {
    const graph = new UnitGraph();
    const seen: GraphChange[] = [];
    const unsubscribe = graph.subscribe((change) => seen.push(change));
    unsubscribe();
    graph.start("a");
    expect(seen).toEqual([]);
  });
});
