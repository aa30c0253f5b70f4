import { describe, expect, test } from "bun:test";
import { buildTimeline, UnitGraph, type Requirement, type UnitStatus, type UnitSummary, type UnitTimes } from "../../src/graph/index.ts";

interface Spec {
  times: Partial<UnitTimes>;
  deps?: Array<string | [string, Requirement]>;
  failed?: string;
}

/** Hand-built units: status follows from the times unless `failed` gives a reason. */
function units(specs: Record<string, Spec>): UnitSummary[] {
  return Object.entries(specs).map(([name, spec]) => {
    const times: UnitTimes = { registered: 0, ...spec.times };
    const status: UnitStatus =
      spec.failed !== undefined ? "failed" : times.ended !== undefined ? "completed" : times.started !== undefined ? "started" : "pending";
    return {
      name,
      status,
      ready: true,
      reason: spec.failed,
      times,
      dependencies: (spec.deps ?? []).map((dep) => {
        const [dependsOn, requires] = typeof dep === "string" ? [dep, "success" as const] : dep;
        return { dependsOn, requires, declaredAt: 0 };
      }),
    };
  });
}

const pathOf = (specs: Record<string, Spec>, now = 1_000) => buildTimeline(units(specs), now).criticalPath.map((e) => e.unit);

describe("critical path", () => {
  test("a chain that waited link by link is the path; an unrelated short unit is not on it", () => {
    expect(
      pathOf({
        clone: { times: { startRequested: 0, started: 0, ended: 10 } },
        deps: { times: { startRequested: 1, started: 10, ended: 25 }, deps: ["clone"] },
        agent: { times: { startRequested: 2, started: 25, ended: 40 }, deps: ["deps"] },
        editor: { times: { startRequested: 0, started: 0, ended: 5 } },
      }),
    ).toEqual(["clone", "deps", "agent"]);
  });

  test("the path follows the dependency that finished last, not the first declared", () => {
    expect(
      pathOf({
        fast: { times: { startRequested: 0, started: 0, ended: 5 } },
        slow: { times: { startRequested: 0, started: 0, ended: 30 } },
        app: { times: { startRequested: 0, started: 30, ended: 35 }, deps: ["fast", "slow"] },
      }),
    ).toEqual(["slow", "app"]);
  });

  test("two dependencies finishing at the same instant: the first name wins", () => {
    const specs = {
      zeta: { times: { startRequested: 0, started: 0, ended: 10 } },
      alpha: { times: { startRequested: 0, started: 0, ended: 10 } },
      app: { times: { startRequested: 0, started: 10, ended: 20 }, deps: ["zeta", "alpha"] },
    };
    expect(pathOf(specs)).toEqual(["alpha", "app"]);
  });

  test("two units ending last together: the longer chain wins, then the first name", () => {
    expect(
      pathOf({
        base: { times: { startRequested: 0, started: 0, ended: 10 } },
        top: { times: { startRequested: 0, started: 10, ended: 30 }, deps: ["base"] },
        lone: { times: { startRequested: 0, started: 0, ended: 30 } },
      }),
    ).toEqual(["base", "top"]);
    expect(
      pathOf({
        b: { times: { startRequested: 0, started: 0, ended: 30 } },
        a: { times: { startRequested: 0, started: 0, ended: 30 } },
      }),
    ).toEqual(["a"]);
  });

  test("a unit still running ends the path now", () => {
    const timeline = buildTimeline(
      units({
        clone: { times: { startRequested: 0, started: 0, ended: 10 } },
        agent: { times: { startRequested: 0, started: 10 }, deps: ["clone"] },
        early: { times: { startRequested: 0, started: 0, ended: 50 } },
      }),
      60,
    );
    expect({
      path: timeline.criticalPath.map((e) => e.unit),
      end: timeline.end,
      agent: timeline.criticalPath.at(-1),
    }).toEqual({
      path: ["clone", "agent"],
      end: 60,
      agent: {
        unit: "agent",
        status: "started",
        reason: undefined,
        registered: 0,
        wait: { from: 0, to: 10 },
        run: { from: 10, to: 60 },
        ended: undefined,
        inProgress: true,
        stopped: undefined,
      },
    });
  });

  test("a unit still waiting leads through what it waits for, to what runs", () => {
    expect(
      pathOf(
        {
          clone: { times: { startRequested: 0, started: 0 } },
          deps: { times: { startRequested: 0 }, deps: ["clone"] },
          agent: { times: { startRequested: 0 }, deps: ["deps"] },
        },
        40,
      ),
    ).toEqual(["clone", "deps", "agent"]);
  });

  test("a unit whose script asked to start after its dependencies were done starts the path itself", () => {
    expect(
      pathOf({
        clone: { times: { startRequested: 0, started: 0, ended: 10 } },
        late: { times: { startRequested: 20, started: 20, ended: 50 }, deps: ["clone"] },
      }),
    ).toEqual(["late"]);
  });

  test("a failure that stopped a waiting unit is on the path of that unit", () => {
    const timeline = buildTimeline(
      units({
        clone: { times: { startRequested: 0, started: 0, ended: 10 }, failed: "exit code 128" },
        agent: { times: { startRequested: 0, ended: 10 }, deps: ["clone"], failed: 'dependency "clone" failed' },
      }),
      100,
    );
    expect(timeline.criticalPath.map((e) => [e.unit, e.status, e.wait, e.run])).toEqual([
      ["clone", "failed", { from: 0, to: 0 }, { from: 0, to: 10 }],
      ["agent", "failed", { from: 0, to: 10 }, undefined],
    ]);
  });

  test("a started requirement links at the dependency's start, not its end", () => {
    expect(
      pathOf({
        db: { times: { startRequested: 0, started: 5, ended: 100 } },
        api: { times: { startRequested: 0, started: 5, ended: 200 }, deps: [["db", "started"]] },
      }),
    ).toEqual(["db", "api"]);
  });

  test("units that only registered are not drawn; one completed without a start is a point", () => {
    const timeline = buildTimeline(
      units({
        idle: { times: {} },
        marked: { times: { ended: 30 } },
      }),
      100,
    );
    expect({ entries: timeline.entries.map((e) => [e.unit, e.wait, e.run, e.ended]), path: timeline.criticalPath.map((e) => e.unit) }).toEqual({
      entries: [["marked", undefined, undefined, 30]],
      path: ["marked"],
    });
  });

  test("an empty graph has no entries and no path", () => {
    expect(buildTimeline([], 5)).toEqual({ origin: 5, now: 5, end: 5, entries: [], criticalPath: [], missing: [], blockedBy: undefined });
  });

  test("entries come in the order their activity began, origin at the first registration", () => {
    const timeline = buildTimeline(
      units({
        c: { times: { registered: 3, startRequested: 9, started: 9 } },
        a: { times: { registered: 5, startRequested: 6, started: 6 } },
        b: { times: { registered: 4, startRequested: 6, started: 7 } },
      }),
      20,
    );
    expect({ order: timeline.entries.map((e) => e.unit), origin: timeline.origin }).toEqual({ order: ["a", "b", "c"], origin: 3 });
  });

  test("a 10,000-link chain, all still waiting, is walked without recursion", () => {
    const specs: Record<string, Spec> = { u0: { times: { startRequested: 0, started: 0 } } };
    for (let i = 1; i < 10_000; i++) specs[`u${i}`] = { times: { startRequested: 0 }, deps: [`u${i - 1}`] };
    const path = pathOf(specs, 10);
    expect({ length: path.length, first: path[0], last: path.at(-1) }).toEqual({ length: 10_000, first: "u0", last: "u9999" });
  });
});

describe("timestamps recorded by the graph", () => {
  function clocked() {
    let now = 0;
    const graph = new UnitGraph({ clock: () => now });
    return { graph, at: (time: number) => void (now = time) };
  }

  test("registered, declared, start requested, started and completed, each when it happened", () => {
    const { graph, at } = clocked();
    at(1);
    graph.declareDependencies("agent", ["clone"]);
    at(2);
    graph.requestStart("agent");
    at(3);
    graph.start("clone");
    at(7);
    graph.complete("clone");
    at(8);
    graph.start("agent");
    expect({
      agent: graph.timesOf("agent"),
      clone: graph.timesOf("clone"),
      edge: graph.dependenciesOf("agent")[0]!.declaredAt,
    }).toEqual({
      agent: { registered: 1, startRequested: 2, started: 8 },
      clone: { registered: 3, startRequested: 3, started: 3, ended: 7 },
      edge: 1,
    });
  });

  test("a failure cone ends at one instant; a retry starts the attempt over", () => {
    const { graph, at } = clocked();
    graph.declareDependencies("agent", ["clone"]);
    graph.declareDependencies("editor", ["agent"]);
    at(5);
    graph.start("clone");
    at(9);
    graph.fail("clone", "exit code 128");
    const failedAt = ["clone", "agent", "editor"].map((unit) => graph.timesOf(unit)!.ended);
    at(12);
    graph.start("clone");
    expect({ failedAt, clone: graph.timesOf("clone"), agent: graph.timesOf("agent") }).toEqual({
      failedAt: [9, 9, 9],
      clone: { registered: 5, startRequested: 12, started: 12 },
      agent: { registered: 0 },
    });
  });

  test("a timeline read off a running graph", () => {
    const { graph, at } = clocked();
    graph.declareDependencies("agent", ["clone"]);
    graph.requestStart("agent");
    graph.start("clone");
    at(10);
    graph.complete("clone");
    graph.start("agent");
    const timeline = buildTimeline(graph.units(), 25);
    expect(timeline.criticalPath.map((e) => [e.unit, e.wait, e.run, e.inProgress])).toEqual([
      ["clone", { from: 0, to: 0 }, { from: 0, to: 10 }, false],
      ["agent", { from: 0, to: 10 }, { from: 10, to: 25 }, true],
    ]);
  });
});

describe("a start-up that deadlocked on a name nobody registered", () => {
  // As examples/workspace-broken: the agent waits for a typo while the real chain completes.
  const broken = units({
    clone: { times: { startRequested: 0, started: 0, ended: 10 } },
    deps: { times: { startRequested: 1, started: 10, ended: 30 }, deps: ["clone"] },
    agent: { times: { startRequested: 2 }, deps: ["clne", "deps"] },
  });

  test("the missing name is listed with who needs it, and the critical path starts from it", () => {
    const timeline = buildTimeline(broken, 100);
    expect({ missing: timeline.missing, blockedBy: timeline.blockedBy, path: timeline.criticalPath.map((e) => e.unit) }).toEqual({
      missing: [{ unit: "clne", neededBy: ["agent"] }],
      blockedBy: "clne",
      path: ["agent"],
    });
  });

  test("a unit whose script was stopped ends at the stop, and is no longer in progress", () => {
    const timeline = buildTimeline(broken, 100, new Map([["agent", 40], ["clone", 5]]));
    expect(timeline.entries.map((e) => [e.unit, e.wait, e.run, e.inProgress, e.stopped])).toEqual([
      ["clone", { from: 0, to: 0 }, { from: 0, to: 10 }, false, undefined],
      ["deps", { from: 1, to: 10 }, { from: 10, to: 30 }, false, undefined],
      ["agent", { from: 2, to: 40 }, undefined, false, 40],
    ]);
    expect({ end: timeline.end, path: timeline.criticalPath.map((e) => e.unit) }).toEqual({ end: 40, path: ["agent"] });
  });
});
