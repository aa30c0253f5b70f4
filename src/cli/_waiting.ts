import type { ProgressLine, WaitingLine } from "../client/index.ts";
import type { WaitDetail } from "../protocol/index.ts";
import { formatDuration } from "./_duration.ts";
import { formatList, printError } from "./_output.ts";

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
      return detail.waiting_for ? `pending, itself waiting for ${formatList(detail.waiting_for)}` : "registered, not started yet";
    case "started":
      return detail.requires === "completion" ? "started, not ended yet" : "started, not completed yet";
    default:
      return `${detail.current_status}, needs ${detail.requires}`;
  }
}

/**
 * The waiting side of `start` and `run`: Coder's line (`waiting`, then `still waiting`
 * when the wait grows) through `say`, and unless `reports` is off, the stderr report for
 * the first waiting line and every progress line.
 */
export function waitingOutput(
  unit: string,
  say: (text: string) => Promise<void>,
  reports: boolean,
): (line: WaitingLine | ProgressLine) => Promise<void> {
  const name = JSON.stringify(unit);
  let waited = false;
  let reported = false;
  return async (line) => {
    if (line.type === "waiting") {
      await say(`Unit ${name} is ${waited ? "still " : ""}waiting for dependencies to be satisfied: ${formatList(line.unsatisfied)}`);
      waited = true;
    }
    if (!reports || (reported && line.type === "waiting")) return;
    reported = true;
    await printError(formatWaitReport(unit, line));
  };
}
