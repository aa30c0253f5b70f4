import { describe, expect, test } from "bun:test";
import { countOf, edgesIn, edgeTo, NO_EDGES, NO_NAMES, removeEdge, removeName, withEdge, withName, type Edges, type Names } from "../../src/graph/compact.ts";
import { UnitGraph } from "../../src/graph/index.ts";

const edge = (dependsOn: string, declaredAt = 0) => ({ dependsOn, requires: "success" as const, declaredAt });
const names = (count: number) => Array.from({ length: count }, (_, i) => `n${i}`);

describe("names", () => {
  test("the shared empty list reads as empty and is never changed", () => {
    expect({ count: countOf(NO_NAMES), removed: removeName(NO_NAMES, "a"), items: [...NO_NAMES] }).toEqual({ count: 0, removed: false, items: [] });
    const one = withName(NO_NAMES, "a");
    expect({ one: [...one], empty: [...NO_NAMES], frozen: Object.isFrozen(NO_NAMES) }).toEqual({ one: ["a"], empty: [], frozen: true });
  });

  test.each([1, 7, 8, 9, 40])("%i names keep their order, no repeats, across the switch to a Set", (count) => {
    let list: Names = NO_NAMES;
    for (const name of [...names(count), ...names(count)]) list = withName(list, name);
    expect({ items: [...list], count: countOf(list), set: list instanceof Set }).toEqual({ items: names(count), count, set: count > 8 });
  });

  test.each([3, 20])("removing from %i names", (count) => {
    let list: Names = NO_NAMES;
    for (const name of names(count)) list = withName(list, name);
    expect([removeName(list, "n1"), removeName(list, "n1"), removeName(list, "zz")]).toEqual([true, false, false]);
    expect([...list]).toEqual(names(count).filter((name) => name !== "n1"));
  });
});

describe("edges", () => {
  test("the shared empty list finds nothing and is never changed", () => {
    removeEdge(NO_EDGES, "a");
    expect({ found: edgeTo(NO_EDGES, "a"), count: countOf(NO_EDGES), items: [...edgesIn(NO_EDGES)] }).toEqual({ found: undefined, count: 0, items: [] });
    expect([...edgesIn(withEdge(NO_EDGES, edge("a")))]).toEqual([edge("a")]);
    expect([...edgesIn(NO_EDGES)]).toEqual([]);
  });

  test.each([1, 8, 9, 30])("%i edges: found by name, in order, a second edge to a name replaces the first in its place", (count) => {
    let list: Edges = NO_EDGES;
    for (const name of names(count)) list = withEdge(list, edge(name));
    list = withEdge(list, edge("n0", 5));
    expect({
      order: [...edgesIn(list)].map((e) => e.dependsOn),
      first: edgeTo(list, "n0"),
      last: edgeTo(list, `n${count - 1}`)?.dependsOn,
      missing: edgeTo(list, "zz"),
      count: countOf(list),
      map: list instanceof Map,
    }).toEqual({ order: names(count), first: edge("n0", 5), last: `n${count - 1}`, missing: undefined, count, map: count > 8 });
    removeEdge(list, "n0");
    expect({ first: edgeTo(list, "n0"), count: countOf(list) }).toEqual({ first: undefined, count: count - 1 });
  });
});

describe("the graph over small and large collections", () => {
  test.each([2, 8, 9, 50])("a unit with %i dependencies, declared one at a time, waits for each and is released by the last", (count) => {
    const graph = new UnitGraph();
    for (const name of names(count)) graph.declareDependencies("top", [name]);
    graph.declareDependencies("top", ["n0"]);
    for (const name of names(count - 1)) {
      graph.start(name);
      graph.complete(name);
    }
    expect({ unsatisfied: graph.unsatisfiedOf("top"), order: graph.dependenciesOf("top").map((d) => d.dependsOn) }).toEqual({
      unsatisfied: [`n${count - 1}`],
      order: names(count),
    });
    graph.start(`n${count - 1}`);
    graph.complete(`n${count - 1}`);
    expect(graph.isReady("top")).toBe(true);
  });

  test.each([3, 20])("a failure reaches all %i dependents, blocking each, and a retry re-arms them", (count) => {
    const graph = new UnitGraph();
    for (const name of names(count)) graph.declareDependencies(name, ["base"]);
    graph.fail("base", "boom");
    expect(names(count).map((name) => graph.statusOf(name))).toEqual(names(count).map(() => "failed"));
    graph.requestStart("base");
    expect([...graph.dependentsOf("base")]).toEqual(names(count));
    expect(names(count).map((name) => graph.statusOf(name))).toEqual(names(count).map(() => "pending"));
  });

  test("a unit read before anything was added to it: no dependencies, no dependents, nothing blocking", () => {
    const graph = new UnitGraph();
    graph.register("a");
    expect({ deps: graph.dependenciesOf("a"), dependents: [...graph.dependentsOf("a")], unsatisfied: graph.unsatisfiedOf("a"), ready: graph.isReady("a") }).toEqual({
      deps: [],
      dependents: [],
      unsatisfied: [],
      ready: true,
    });
    graph.fail("a", "own");
    expect(graph.reasonOf("a")).toBe("own");
  });

  test("an implicit edge to a `first` unit becomes a declared one in its place, counted once", () => {
    const graph = new UnitGraph({ limits: { dependencies: 2 } });
    graph.declareFirst("setup");
    graph.declareDependencies("app", ["db"]);
    graph.declareDependencies("app", ["setup"]);
    expect(graph.dependenciesOf("app").map(({ dependsOn, implicit }) => ({ dependsOn, implicit }))).toEqual([
      { dependsOn: "setup", implicit: undefined },
      { dependsOn: "db", implicit: undefined },
    ]);
  });
});
