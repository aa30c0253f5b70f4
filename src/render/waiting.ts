import type { StartLine, WaitDetail } from "../protocol/index.ts";
import { formatDuration } from "./duration.ts";
import { formatList } from "./text.ts";

type WaitingLine = Extract<StartLine, { type: "waiting" }>;
type ProgressLine = Extract<StartLine, { type: "progress" }>;

/**
 * What a waiting start still waits for, one dependency per line, for stderr: what state
 * each is in, and for a name nobody registered, the registered name it most likely meant.
 */
export function formatWaitReport(unit: string, line: WaitingLine | ProgressLine): string {
  const count = line.details.length === 1 ? "1 dependency" : `${line.details.length} dependencies`;
  const head =
    line.type === "progress"
      ? `Unit ${JSON.stringify(unit)} still waits, after ${formatDuration(line.waited_ms)}, for ${count}:`
      : `Unit ${JSON.stringify(unit)} waits for ${count}:`;
  const width = Math.max(...line.details.map((d) => d.depends_on.length));
  const rows = line.details.map((d) => `  ${d.depends_on.padEnd(width)}  ${describeDependency(d)}`);
  return [head, ...rows].join("\n");
}

function describeDependency(detail: WaitDetail): string {
  switch (detail.current_status) {
    case "not registered":
      return `not registered by any script yet${detail.did_you_mean === undefined ? "" : `; did you mean ${JSON.stringify(detail.did_you_mean)}?`}`;
    case "pending":
      if (detail.target) return detail.waiting_for ? `a target, waiting for members ${formatList(detail.waiting_for)}` : "a target with no members yet";
      return detail.waiting_for ? `pending, itself waiting for ${formatList(detail.waiting_for)}` : "registered, not started yet";
    case "started":
      return detail.requires === "completion" ? "started, not ended yet" : "started, not completed yet";
    default:
      return `${detail.current_status}, needs ${detail.requires}`;
  }
}
