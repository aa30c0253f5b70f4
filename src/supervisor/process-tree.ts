/** One live process: its parent, process group, state letter (`S` sleeping, `Z` exited but not reaped, ...) and threads. */
export interface ProcessEntry {
  parent: number;
  group: number;
  state: string;
  zombie: boolean;
  /** What the state says is the main thread's only; another thread may be busy. */
  threads: number;
}

/** Whether this system has a Linux /proc to read processes from. */
export async function hasProcfs(): Promise<boolean> {
  const { existsSync } = await import("node:fs");
  return existsSync("/proc/self/stat");
}

/**
 * Every process on the machine and its parent, from /proc (Linux), or from `ps` where
 * there is no /proc. Read on demand, at the moments a supervisor needs to know.
 */
export async function readProcessTable(): Promise<Map<number, ProcessEntry>> {
  const { readdirSync, readFileSync } = await import("node:fs");
  const table = new Map<number, ProcessEntry>();
  if (await hasProcfs()) {
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${name}/stat`, "utf8");
      } catch {
        continue; // it exited while we read
      }
      // "pid (command) state ppid ...": the command may hold spaces and parentheses.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const [state, parent, group] = fields;
      table.set(Number(name), { parent: Number(parent), group: Number(group), state: state!, zombie: state === "Z", threads: Number(fields[17]) });
    }
    return table;
  }
  const ps = Bun.spawnSync(["ps", "-A", "-o", "pid=,ppid=,pgid=,stat="]);
  for (const line of ps.stdout.toString().split("\n")) {
    const [pid, parent, group, state] = line.trim().split(/\s+/);
    if (pid && parent) {
      table.set(Number(pid), { parent: Number(parent), group: Number(group), state: state?.[0] ?? "?", zombie: state?.startsWith("Z") ?? false, threads: 1 });
    }
  }
  return table;
}

/** The process groups among `groups` that still have a live member. */
export function liveGroups(groups: readonly number[], table: ReadonlyMap<number, ProcessEntry>): number[] {
  const live = new Set<number>();
  for (const entry of table.values()) if (!entry.zombie) live.add(entry.group);
  return groups.filter((group) => live.has(group));
}

/** The live processes under `root`, itself included; a zombie does nothing, so it is left out. */
export function treeUnder(root: number, table: ReadonlyMap<number, ProcessEntry>, children = childrenOf(table)): number[] {
  const tree: number[] = [];
  for (let pid: number | undefined = root, work: number[] = []; pid !== undefined; pid = work.pop()) {
    const entry = table.get(pid);
    if (entry === undefined || entry.zombie) continue;
    tree.push(pid);
    work.push(...(children.get(pid) ?? []));
  }
  return tree.sort((a, b) => a - b);
}

/** Every process's children, zombies included (a waiting parent is about to reap them). */
export function childrenOf(table: ReadonlyMap<number, { parent: number }>): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const [pid, entry] of table) {
    const siblings = children.get(entry.parent);
    if (siblings) siblings.push(pid);
    else children.set(entry.parent, [pid]);
  }
  return children;
}

/** What a sleeping process waits for: data in a pipe, a child to exit, or anything else. */
export type SleepReason = "pipe" | "children" | "other";

/** A pipe a process holds open, by inode, and which ends; `named` for a FIFO in the file system. */
export interface PipeEnd {
  inode: number;
  read: boolean;
  write: boolean;
  named?: boolean;
}

// System call numbers of read, readv, wait4 and waitid, for /proc/PID/syscall.
const READS: Record<string, number[]> = { x64: [0, 19], arm64: [63, 65] };
const WAITS: Record<string, number[]> = { x64: [61, 247], arm64: [260, 95] };

/**
 * Where a sleeping process sleeps, from /proc/PID/wchan (the kernel function: `pipe_read`,
 * `anon_pipe_read` since 6.x, `do_wait`), else from /proc/PID/syscall (readable by the same
 * user). "other" when neither tells: only the two waits that end when others act count.
 */
export async function readSleepReason(pid: number): Promise<SleepReason> {
  const { readFileSync, readlinkSync } = await import("node:fs");
  const isPipe = (link: string) => {
    try {
      return readlinkSync(link).startsWith("pipe:");
    } catch {
      return false;
    }
  };
  const read = (file: string) => {
    try {
      return readFileSync(`/proc/${pid}/${file}`, "utf8").trim();
    } catch {
      return "";
    }
  };
  const wchan = read("wchan");
  if (wchan === "pipe_read" || wchan === "anon_pipe_read" || wchan === "pipe_wait_readable") return "pipe";
  if (wchan === "do_wait" || wchan === "kernel_wait4" || wchan === "kernel_waitid") return "children";
  // "0" where the kernel hides symbols, "pipe_wait" on old kernels for readers and writers alike.
  if (wchan !== "" && wchan !== "0" && wchan !== "pipe_wait") return "other";
  // "NR arg0 ...", or "running", or nothing when another user's or ptrace is refused.
  const [call, fd] = read("syscall").split(" ").map((field) => (/^(0x)?[0-9a-f]+$/.test(field) ? Number(field) : Number.NaN));
  if (READS[process.arch]?.includes(call!)) return isPipe(`/proc/${pid}/fd/${fd}`) ? "pipe" : "other";
  if (WAITS[process.arch]?.includes(call!)) return "children";
  return "other";
}

/**
 * The pipes `pid` holds open (`pipe:[N]` links in /proc/PID/fd, and FIFOs), each with the
 * ends it holds: the link's own mode says how the file was opened (r-x read, -wx write).
 * Undefined when its descriptors cannot be read.
 */
export async function readPipes(pid: number): Promise<PipeEnd[] | undefined> {
  const { lstatSync, readdirSync, readlinkSync, statSync } = await import("node:fs");
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return undefined;
  }
  const pipes: PipeEnd[] = [];
  for (const fd of fds) {
    try {
      const link = `/proc/${pid}/fd/${fd}`;
      const target = readlinkSync(link);
      const anonymous = /^pipe:\[(\d+)\]$/.exec(target);
      // A FIFO's reader sleeps in the same kernel function as a pipe's.
      const fifo = anonymous || !target.startsWith("/") ? undefined : statSync(link);
      if (!anonymous && !fifo?.isFIFO()) continue;
      const mode = lstatSync(link).mode;
      const ends = { read: (mode & 0o400) !== 0, write: (mode & 0o200) !== 0 };
      pipes.push(anonymous ? { inode: Number(anonymous[1]), ...ends } : { inode: fifo!.ino, ...ends, named: true });
    } catch {
      // Closed while we read.
    }
  }
  return pipes;
}
