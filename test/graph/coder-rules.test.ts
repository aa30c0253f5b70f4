import { describe, expect, test } from "bun:test";
import { UnitGraph } from "../../src/graph/index.ts";
import { refusal } from "./_refusal.ts";

describe.each(["unitsync", "coder"] as const)("%s rules", (rules) => {
  test("a completed unit started again", () => {
    const graph = new UnitGraph({ rules });
    graph.declareDependencies("b", ["a"]);
    graph.start("a");
    graph.complete("a");
    expect(graph.isReady("b")).toBe(true);
    const attempt = refusal(() => graph.start("a"));
    expect({ attempt, status: graph.statusOf("a"), dependentReady: graph.isReady("b") }).toEqual(
      rules === "coder"
        ? { attempt: undefined, status: "started", dependentReady: false }
        : { attempt: expect.objectContaining({ code: "wrong_state" }), status: "completed", dependentReady: true },
    );
  });

  test("an edge declared again with another requirement", () => {
    const graph = new UnitGraph({ rules });
    graph.declareDependencies("b", ["a"], "started");
    const attempt = refusal(() => graph.declareDependencies("b", ["a"], "success"));
    graph.start("a");
    expect({
      attempt,
      requires: graph.dependenciesOf("b").map((d) => d.requires),
      ready: graph.isReady("b"),
    }).toEqual(
      rules === "coder"
        ? { attempt: undefined, requires: ["success"], ready: false }
        : { attempt: expect.objectContaining({ code: "conflict" }), requires: ["started"], ready: true },
    );
  });
});
