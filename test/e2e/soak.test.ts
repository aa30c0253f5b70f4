// Issue 7's soak, short: 1,000 starts held on a real `unitsync serve` while 8 clients
// want/start/complete/fail as fast as they can, three rounds; the long one is bench/soak.ts.
import { expect, test } from "bun:test";
import { runSoak, SOAK_DEFAULTS } from "../../bench/soak-load.ts";
import { BINARY } from "../helpers.ts";

test("1,000 held starts through 8 clients' load: no error, no lost wake-up, the exact graph, flat memory", async () => {
  const report = await runSoak({ ...SOAK_DEFAULTS, binary: BINARY, rounds: 3, seconds: 3, freshCycles: 50, settleMs: 1_500 });

  const heldPerGate = SOAK_DEFAULTS.waiters / SOAK_DEFAULTS.gates;
  const failingGates = SOAK_DEFAULTS.gates / SOAK_DEFAULTS.failEvery;
  expect({
    serverWarnings: report.serverWarnings,
    rounds: report.rounds.map((round) => ({
      errors: round.errors,
      waiters: { ...round.waiters, latencyMs: undefined },
      loadWakeUpsLost: round.loadWakeUps.expected - round.loadWakeUps.received,
      loadRan: round.ops.total > 1_000 && round.freshCycles > 0 && round.reuseCycles > 0,
      graph: { ...round.graph, units: round.graph.units === round.graph.expectedUnits },
      memoryWithinAllowance: report.memory.growth[round.round - 1]! <= report.memory.allowance[round.round - 1]!,
    })),
  }).toEqual({
    serverWarnings: [],
    rounds: [1, 2, 3].map(() => ({
      errors: [],
      waiters: {
        expected: 1_000,
        started: 1_000 - failingGates * heldPerGate,
        dependencyFailed: failingGates * heldPerGate,
        open: 0,
        gatesDuringLoad: SOAK_DEFAULTS.gates,
        latencyMs: undefined,
      },
      loadWakeUpsLost: 0,
      loadRan: true,
      graph: { units: true, expectedUnits: expect.any(Number), mismatches: [] },
      memoryWithinAllowance: true,
    })),
  });
}, 60_000);
