/** One live process: its parent and process group, and whether it has exited but not been reaped. */
interface ProcessEntry {
  parent: number;
  group: number;
  zombie: boolean;
}

/**
 * Every process on the machine and its parent, from /proc (Linux), or from `ps` where
 * there is no /proc. Read on demand, at the moments a supervisor needs to know.
 */
export async function readProcessTable(): Promise<Map<number, ProcessEntry>> {
  const { existsSync, readdirSync, readFileSync } = await import("node:fs");
  const table = new Map<number, ProcessEntry>();
  if (existsSync("/proc/self/stat")) {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${name}/stat`, "utf8");
      } catch {
        continue; // it exited while we read
      }
      // "pid (command) state ppid ...": the command may hold spaces and parentheses.
      const [state, parent, group] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(name), { parent: Number(parent), group: Number(group), zombie: state === "Z" });
    }
    return table;
  }
  const ps = Bun.spawnSync(["ps", "-A", "-o", "pid=,ppid=,pgid=,stat="]);
  for (const line of ps.stdout.toString().split("\n")) {
    const [pid, parent, group, state] = line.trim().split(/\s+/);
    if (pid && parent) {
      table.set(Number(pid), { parent: Number(parent), group: Number(group), zombie: state?.startsWith("Z") ?? false });
    }
  }
  return table;
}

/** The live processes under `root` (itself included) that have no live children. */
export function leavesUnder(root: number, table: ReadonlyMap<number, ProcessEntry>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, entry] of table) {
    if (entry.zombie) continue;
    const siblings = children.get(entry.parent);
    if (siblings) siblings.push(pid);
    else children.set(entry.parent, [pid]);
  }
  if (!table.has(root) || table.get(root)!.zombie) return [];
  const leaves: number[] = [];
  const work = [root];
  for (let pid = work.pop(); pid !== undefined; pid = work.pop()) {
    const below = children.get(pid);
    if (below) work.push(...below);
    else leaves.push(pid);
  }
  return leaves.sort((a, b) => a - b);
}

/** The process groups among `groups` that still have a live member. */
export function liveGroups(groups: readonly number[], table: ReadonlyMap<number, ProcessEntry>): number[] {
  const live = new Set<number>();
  for (const entry of table.values()) if (!entry.zombie) live.add(entry.group);
  return groups.filter((group) => live.has(group));
}
