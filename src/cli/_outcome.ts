import type { RideOver, UnitsyncClient } from "../client/index.ts";
import { UnitsyncError, type CompleteResponse } from "../protocol/index.ts";

/**
 * Completes `unit`, or fails it for `reason`, the last thing `run` and `complete --when` do.
 * A server that went away meanwhile is waited for, up to `timeoutMs` again (or as `rideOver`
 * says), and told then. It may have recorded the outcome just before it went: after a gap,
 * finding that outcome recorded already is success.
 */
export function reportOutcome(
  client: UnitsyncClient,
  unit: string,
  reason: string | undefined,
  { rideOver, timeoutMs }: { rideOver: RideOver | undefined; timeoutMs: number },
): Promise<CompleteResponse> {
  const endsAt = timeoutMs > 0 ? performance.now() + timeoutMs : Infinity;
  return client.riding(rideOver, endsAt, async (resumed) => {
    try {
      return reason === undefined ? await client.complete(unit) : await client.fail(unit, reason);
    } catch (error) {
      if (!resumed || !(error instanceof UnitsyncError) || error.code !== "wrong_state") throw error;
      const recorded = await client.unitStatus(unit);
      if (recorded.status !== (reason === undefined ? "completed" : "failed")) throw error;
      return { unit_name: unit, status: recorded.status, ...(recorded.reason === undefined ? {} : { reason: recorded.reason }) };
    }
  });
}
