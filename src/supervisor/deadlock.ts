import type { WaitDetail } from "../protocol/index.ts";
import type { ServerView } from "../server/index.ts";
import { formatList } from "../render/text.ts";
import { leavesUnder, readProcessTable } from "./process-tree.ts";

/** A script `up` runs: its name and the pid that leads its process group. */
export interface RunningScript {
  name: string;
  pid: number;
}

/**
 * True when nothing can change any more: every script still running is blocked, that is
 * each process at the bottom of its tree is a `start` waiting on the server. A script
 * doing anything else (a command, a probe, a `sleep`, bash between two commands) has a
 * leaf that is not waiting, so a slow script is never taken for a stuck one.
 */
export async function everyScriptBlocked(server: ServerView, scripts: readonly RunningScript[]): Promise<boolean> {
  if (scripts.length === 0) return false;
  const waiting = new Set(server.waitingStarts().flatMap((start) => (start.pid === undefined ? [] : [start.pid])));
  if (waiting.size === 0) return false;
  const table = await readProcessTable();
  return scripts.every((script) => {
    const leaves = leavesUnder(script.pid, table);
    return leaves.length > 0 && leaves.every((pid) => waiting.has(pid));
  });
}

/** Why the start-up can never finish: which unit waits for which, and why each never comes. */
export function explainDeadlock(server: ServerView): string[] {
  const starts = server.waitingStarts().sort((a, b) => (a.script ?? "").localeCompare(b.script ?? "") || a.unit.localeCompare(b.unit));
  const lines = ['deadlock: every script still running waits in "unitsync start", and nothing it waits for can happen:'];
  for (const start of starts) {
    const who = start.script ?? `pid ${start.pid ?? "?"}`;
    for (const detail of server.detailsOf(start.unit)) {
      lines.push(`  ${who}: ${JSON.stringify(start.unit)} waits for ${JSON.stringify(detail.depends_on)}, ${whyNever(server, detail)}`);
    }
  }
  return lines;
}

function whyNever(server: ServerView, detail: WaitDetail): string {
  switch (detail.current_status) {
    case "not registered":
      return detail.did_you_mean === undefined
        ? "which no script registered"
        : `which no script registered; did you mean ${JSON.stringify(detail.did_you_mean)}?`;
    case "pending":
      return detail.waiting_for
        ? `which itself waits for ${formatList(detail.waiting_for)}`
        : "which is registered, but no running script asked to start it";
    case "started": {
      const starter = server.starterOf(detail.depends_on);
      return starter === undefined
        ? "which started, but nothing still running will complete it"
        : `which ${starter} started and has not completed`;
    }
    default:
      return `which is ${detail.current_status}`;
  }
}
