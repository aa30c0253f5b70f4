import type { WaitDetail } from "../protocol/index.ts";
import type { ServerView } from "../server/index.ts";
import { describeClaimant } from "../render/events.ts";
import { formatList } from "../render/text.ts";
import { blockedProcesses, type ProcessFacts } from "./blocked.ts";
import { childrenOf, hasProcfs, readPipes, readProcessTable, readSleepReason, treeUnder } from "./process-tree.ts";

/** What the deadlock finder reads of the server: `ServerView`'s reads of waiting starts and locks. */
export type SupervisorView = Pick<ServerView, "waitingStarts" | "locks" | "detailsOf" | "starterOf">;

/** A script `up` runs: its name and the pid that leads its process group. */
export interface RunningScript {
  name: string;
  pid: number;
}

/**
 * How stuck the scripts still running are: "blocked" when nothing can change any more;
 * "waiting" when each has a start waiting on the server but something else in it was not
 * seen blocked, worth another look since a process falling asleep tells the server nothing;
 * "busy" otherwise.
 */
export type Blockage = "blocked" | "waiting" | "busy";

/**
 * Whether every script still running is blocked: every process of its tree is a start
 * waiting on the server, or only waits for blocked ones (see `blockedProcesses`). A script
 * doing anything else (a command, a probe, a `sleep`, reading a terminal or a file) is not,
 * so a slow script is never taken for a stuck one. /proc is read once per look, and the
 * descriptors of processes outside the scripts only when all else says blocked.
 */
export async function scriptsBlockage(server: SupervisorView, scripts: readonly RunningScript[]): Promise<Blockage> {
  if (scripts.length === 0) return "busy";
  const waiting = new Set(server.waitingStarts().flatMap((start) => (start.pid === undefined ? [] : [start.pid])));
  // A client waiting for a lock waits on the server, as a start does; a holder's client
  // (`unitsync lock`, `run --lock`) does nothing but wait for its command to end.
  const locks = server.locks();
  for (const { waiters } of locks) for (const { pid } of waiters) if (pid !== undefined) waiting.add(pid);
  const holders = new Set(locks.flatMap(({ holder }) => (holder?.pid === undefined ? [] : [holder.pid])));
  if (waiting.size === 0) return "busy";
  const table = await readProcessTable();
  const children = childrenOf(table);
  const trees = scripts.map((script) => treeUnder(script.pid, table, children));
  if (!trees.every((tree) => tree.some((pid) => waiting.has(pid)))) return "busy";
  const facts = new Map<number, ProcessFacts>(table);
  const members = trees.flat();
  const procfs = await hasProcfs();
  let readsPipes = false;
  for (const pid of members) {
    if (waiting.has(pid)) continue;
    const entry = table.get(pid)!;
    if (holders.has(pid)) {
      facts.set(pid, { ...entry, state: "S", threads: 1, sleepsIn: "children" });
      continue;
    }
    // Without /proc (macOS) nothing tells where a process sleeps: one with children is taken
    // to wait for them, so a script is blocked when its leaves are all waiting starts.
    if (!procfs) {
      facts.set(pid, { ...entry, state: "S", sleepsIn: "children" });
      continue;
    }
    if (entry.state !== "S") return "waiting";
    const sleepsIn = await readSleepReason(pid);
    if (sleepsIn === "other") return "waiting";
    readsPipes ||= sleepsIn === "pipe";
    facts.set(pid, { ...entry, sleepsIn });
  }
  // Who holds a pipe's write end may be any process, in the scripts or not.
  if (readsPipes) {
    for (const [pid, entry] of facts) if (!entry.zombie) facts.set(pid, { ...entry, pipes: await readPipes(pid) });
  }
  const blocked = blockedProcesses(facts, waiting);
  return members.every((pid) => blocked.has(pid)) ? "blocked" : "waiting";
}

/** Why the start-up can never finish: which unit waits for which, and why each never comes. */
export function explainDeadlock(server: SupervisorView): string[] {
  const starts = server.waitingStarts().sort((a, b) => (a.script ?? "").localeCompare(b.script ?? "") || a.unit.localeCompare(b.unit));
  const locks = server.locks().filter((lock) => lock.waiters.length > 0);
  const where = locks.length === 0 ? '"unitsync start"' : '"unitsync start" or for a lock';
  const lines = [`deadlock: every script still running waits in ${where}, and nothing it waits for can happen:`];
  for (const start of starts) {
    const who = start.script ?? `pid ${start.pid ?? "?"}`;
    for (const detail of server.detailsOf(start.unit)) {
      const lock = locks.find(({ waiters }) => waiters.some((waiter) => waiter.unit === detail.depends_on));
      const why = lock ? `which itself waits for lock ${JSON.stringify(lock.lock)}` : whyNever(server, detail);
      lines.push(`  ${who}: ${JSON.stringify(start.unit)} waits for ${JSON.stringify(detail.depends_on)}, ${why}`);
    }
  }
  for (const { lock, holder, waiters } of locks) {
    const held = holder ? `held by ${describeClaimant(holder)}, which is itself blocked` : "which nobody holds";
    for (const waiter of waiters) lines.push(`  ${describeClaimant(waiter)}: waits for lock ${JSON.stringify(lock)}, ${held}`);
  }
  return lines;
}

function whyNever(server: SupervisorView, detail: WaitDetail): string {
  switch (detail.current_status) {
    case "not registered":
      return detail.did_you_mean === undefined
        ? "which no script registered"
        : `which no script registered; did you mean ${JSON.stringify(detail.did_you_mean)}?`;
    case "pending":
      if (detail.target) {
        return detail.waiting_for
          ? `a target whose members ${formatList(detail.waiting_for)} are not done`
          : "a target that no script gave a member";
      }
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
