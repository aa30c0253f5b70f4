import type { ProgressLine, WaitingLine } from "../client/index.ts";
import { formatList } from "../render/text.ts";
import { formatWaitReport } from "../render/waiting.ts";
import { printError } from "./_output.ts";
import type { LockWait } from "../protocol/index.ts";
import { describeClaimant } from "../render/events.ts";
import { unitArguments } from "./_units.ts";

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

/**
 * On stderr: `Unit "db" waits for lock "apt", held by 10-apt.sh (pid 42); 2 in line`, or
 * without a subject `Waiting for lock "apt", ...`.
 */
export async function sayLockWait(subject: string | undefined, { lock, held_by, position }: LockWait): Promise<void> {
  const place = position === 1 ? "next in line" : `${position} in line`;
  const waits = subject === undefined ? "Waiting for" : `${subject} waits for`;
  await printError(`${waits} lock ${JSON.stringify(lock)}, held by ${describeClaimant(held_by)}; ${place}`);
}

/** `--lock NAME`: a name as unit names go (1 to 255 bytes of text), or absent. */
export function lockArgument(lock: unknown): string | undefined {
  if (lock === undefined) return undefined;
  return unitArguments([String(lock)], 1, 1, "--lock takes one lock name")[0];
}
