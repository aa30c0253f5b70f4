import { childrenOf, type PipeEnd, type SleepReason } from "./process-tree.ts";

/** What the fixed point needs to know of one process; `sleepsIn` and `pipes` only where read. */
export interface ProcessFacts {
  parent: number;
  state: string;
  zombie: boolean;
  /** A process of more than one thread is never taken for blocked: its state is one thread's. */
  threads?: number;
  sleepsIn?: SleepReason;
  /** Undefined when not read or not readable: such a process is never blocked by a pipe. */
  pipes?: readonly PipeEnd[];
}

/**
 * The processes that cannot wake up unless something outside them acts: a start waiting on
 * the server, a process asleep reading pipes whose every write end is held by blocked
 * processes only, or one asleep waiting for children that are all blocked. Computed as the
 * greatest such set (begin with every candidate, drop whoever has a way out, repeat), so a
 * cycle is seen too: a shell waiting for a `tee` that reads the shell's own output.
 * A pipe nobody writes to, a FIFO, a zombie child, or facts not read are all ways out.
 */
export function blockedProcesses(table: ReadonlyMap<number, ProcessFacts>, waitingStarts: ReadonlySet<number>): Set<number> {
  const blocked = new Set<number>();
  for (const [pid, process] of table) {
    if (process.zombie) continue;
    const asleep = process.state === "S" && (process.threads ?? 1) === 1;
    if (waitingStarts.has(pid) || (asleep && (process.sleepsIn === "pipe" || process.sleepsIn === "children"))) {
      blocked.add(pid);
    }
  }
  const children = childrenOf(table);
  const writers = new Map<number, number[]>();
  for (const [pid, process] of table) {
    if (process.zombie) continue;
    for (const end of process.pipes ?? []) {
      if (!end.write) continue;
      const held = writers.get(end.inode);
      if (held) held.push(pid);
      else writers.set(end.inode, [pid]);
    }
  }
  const allBlocked = (pids: readonly number[]) => pids.length > 0 && pids.every((pid) => blocked.has(pid));
  const stuck = (pid: number): boolean => {
    if (waitingStarts.has(pid)) return true;
    const process = table.get(pid)!;
    if (process.sleepsIn === "children") return allBlocked(children.get(pid) ?? []);
    const reads = (process.pipes ?? []).filter((end) => end.read);
    // Anyone may open a FIFO for writing at any time: reading one is a way out.
    return reads.length > 0 && reads.every((end) => !end.named && allBlocked(writers.get(end.inode) ?? []));
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const pid of blocked) {
      if (stuck(pid)) continue;
      blocked.delete(pid);
      changed = true;
    }
  }
  return blocked;
}
