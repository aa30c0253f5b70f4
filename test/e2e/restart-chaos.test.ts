// The server killed at a random point of a start-up and started again on the same path after
// a random pause: every script ends as it would have without the crash, no unit is lost or
// completed twice, and no script waits past its time-out. The size (200 units, 300
// waiting scripts, 20 kills) is in bench/restart-chaos.ts; this is the same run, smaller.
import { expect, test } from "bun:test";
import { planChaos, random, runChaos } from "./_chaos.ts";

test("three start-ups of 40 units and 20 watching scripts, each losing its server once", async () => {
  const next = random(18);
  for (let round = 0; round < 3; round++) {
    const plan = planChaos(1_000 + round, 40, 20);
    const result = await runChaos(plan, 50 + next() * 600, 100 + next() * 900);
    expect({ round, ...result, longestScriptMs: undefined, killedAtMs: undefined, downMs: undefined, restartMs: undefined }).toEqual({
      round,
      wrongExits: [],
      wrongStatuses: [],
      repeated: [],
      longestScriptMs: undefined,
      killedAtMs: undefined,
      downMs: undefined,
      restartMs: undefined,
    });
    expect(result.longestScriptMs).toBeLessThan(60_000);
  }
}, 120_000);
