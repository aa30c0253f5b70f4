import { describe, expect, test } from "bun:test";
import { closestName, editDistance, UnitGraph, validateUnitName } from "../../src/graph/index.ts";

describe("editDistance", () => {
  test.each([
    ["git-clone", "git-clone", 0],
    ["gti-clone", "git-clone", 1],
    ["git_clone", "git-clone", 1],
    ["gitclone", "git-clone", 1],
    ["git-clones", "git-clone", 1],
    ["install-dep", "install-deps", 1],
    ["claude", "clone", 3],
    ["", "abc", 3],
    ["kitten", "sitting", 3],
  ])("%j to %j is %d", (a, b, distance) => {
    expect({ forward: editDistance(a, b), backward: editDistance(b, a) }).toEqual({ forward: distance, backward: distance });
  });

  test("gives up past the limit", () => {
    expect(editDistance("database", "git-clone", 2)).toBe(3);
    expect(editDistance("a", "abcdef", 2)).toBe(3);
  });
});

describe("closestName", () => {
  const registered = ["git-clone", "install-deps", "claude", "db", "code-server"];

  test.each([
    ["gti-clone", "git-clone"],
    ["git_clone", "git-clone"],
    ["Git-Clone", "git-clone"],
    ["install_deps", "install-deps"],
    ["instal-deps", "install-deps"],
    ["cluade", "claude"],
    ["DB", "db"],
    ["code-sever", "code-server"],
  ])("%j: did you mean %j?", (typo, meant) => {
    expect(closestName(typo, registered)).toBe(meant);
  });

  test.each(["database", "postgres", "dc", "agent", "x", "clone-git"])("%j is too far from every name", (name) => {
    expect(closestName(name, registered)).toBeUndefined();
  });

  test("an exact match is not a suggestion, and ties go to the first name", () => {
    expect(closestName("git-clone", ["git-clone"])).toBeUndefined();
    expect(closestName("unit-b", ["unit-c", "unit-a"])).toBe("unit-a");
  });
});

describe("suggestionFor", () => {
  test("suggests only registered units, never the asking unit, and only for unregistered names", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("claude", ["gti-clone", "claudes"]);
    graph.declareDependencies("other", ["git-clone-x"]);
    expect({
      typo: graph.suggestionFor("gti-clone", "claude"),
      registeredLater: graph.suggestionFor("gti-clone"),
      self: graph.suggestionFor("claudes", "claude"),
      registered: graph.suggestionFor("claude"),
    }).toEqual({ typo: undefined, registeredLater: undefined, self: undefined, registered: undefined });
    graph.start("git-clone");
    expect(graph.suggestionFor("gti-clone", "claude")).toBe("git-clone");
  });

  test("a search asked again follows the units registered since: closer ones, and ties by name", () => {
    const graph = new UnitGraph();
    graph.declareDependencies("waiter", ["postgres-db"]);
    const asked: (string | undefined)[] = [];
    const ask = () => asked.push(graph.suggestionFor("postgres-db", "waiter"));
    ask();
    graph.register("postgres-dbxx"); // two edits away
    ask();
    graph.register("zostgres-db"); // one edit away: closer
    ask();
    graph.register("postgres-dc"); // one edit away too, and first in name order
    ask();
    graph.register("postgres-dd"); // a tie that comes later in name order
    ask();
    expect(asked).toEqual([undefined, "postgres-dbxx", "zostgres-db", "postgres-dc", "postgres-dc"]);
  });
});

describe("validateUnitName", () => {
  test.each([".", ".."])("%j is refused: a URL reads it as a path step", (name) => {
    expect(() => validateUnitName(name)).toThrow(`unit name "${name}" is not allowed: "." and ".." read as path steps in a URL`);
  });

  test.each(["...", ".x", "a.b", "x..", "-", "é"])("%j is a fine name", (name) => {
    expect(() => validateUnitName(name)).not.toThrow();
  });
});
