import type { UnitGraph } from "../../src/graph/index.ts";

/** A chain u0 <- u1 <- ... on a clock that moves 1 ms a step: each unit waits, runs and completes in turn. */
export const chainStartup = {
  now: 1_796_456_038_000,
  clock() {
    return () => (this.now += 1);
  },
  run(graph: UnitGraph, units: number): void {
    for (let i = 1; i < units; i++) graph.declareDependencies(`u${i}`, [`u${i - 1}`]);
    for (let i = 0; i < units; i++) graph.requestStart(`u${i}`);
    for (let i = 0; i < units; i++) {
      graph.start(`u${i}`);
      graph.complete(`u${i}`);
    }
  },
};
