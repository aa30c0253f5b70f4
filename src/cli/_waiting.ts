import type { ProgressLine, WaitingLine } from "../client/index.ts";
import { formatList } from "../render/text.ts";
import { formatWaitReport } from "../render/waiting.ts";
import { printError } from "./_output.ts";

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
