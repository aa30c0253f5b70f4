import type { LockEntry } from "../protocol/index.ts";
import { formatDuration } from "./duration.ts";
import { describeClaimant } from "./events.ts";
import { formatTable } from "./text.ts";

/**
 * `unitsync locks`: one row per lock, its holder and for how long (at `now`, epoch ms),
 * and its waiters in the order they will hold it.
 */
export function formatLocks(locks: readonly LockEntry[], now: number): string {
  if (locks.length === 0) return "No locks held or waited for\n";
  const since = (at: string) => formatDuration(Math.max(0, now - Date.parse(at)));
  const rows = locks.map(({ lock, holder, waiters }) => [
    lock,
    holder ? describeClaimant(holder) : "-",
    holder?.acquired_at ? since(holder.acquired_at) : "-",
    waiters.length === 0 ? "-" : waiters.map((waiter) => `${describeClaimant(waiter)} ${since(waiter.requested_at)}`).join(", "),
  ]);
  return formatTable(["lock", "holder", "held", "waiting (in order, how long)"], rows, 255);
}
