/**
 * Helpers for the benchmarks: statistics, children that are always cleaned up, output
 * that can be waited on line by line, memory readings, and Markdown tables.
 */
import type { Subprocess } from "bun";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The middle value; the mean would let one slow spawn on a noisy machine move the figure. */
export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** Nearest-rank percentile: with fewer than 100 samples, p99 is the maximum. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface Summary {
  n: number;
  median: number;
  p99: number;
  min: number;
  max: number;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    n: samples.length,
    median: median(samples),
    p99: percentile(samples, 99),
    min: Math.min(...samples),
    max: Math.max(...samples),
  };
}

/** Fails instead of hanging the whole run when something the bench waits for never happens. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `task` over `items`, at most `limit` at a time, so set-up work does not spawn hundreds at once. */
export async function inBatches<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(task));
}

/** A TCP port on 127.0.0.1 that nothing listens on right now: the kernel picks it, then it is freed. */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

/** Fisher-Yates, so interleaved trials do not always run in the same order. */
export function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Output of a child read as it arrives, so the bench can wait for a line instead of sleeping. */
export class Output {
  text = "";
  /** Each chunk as it arrived, with performance.now() at its arrival: when a line was printed. */
  readonly chunks: { at: number; text: string }[] = [];
  private ended = false;
  private checks = new Set<() => void>();
  readonly done: Promise<string>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.drain(stream);
  }

  private async drain(stream: ReadableStream<Uint8Array>): Promise<string> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      this.chunks.push({ at: performance.now(), text });
      this.text += text;
      for (const check of this.checks) check();
    }
    this.ended = true;
    for (const check of this.checks) check();
    return this.text;
  }

  /** Resolves once `needle` has been printed; rejects if the stream ends or `ms` pass first. */
  until(needle: string, ms = 10_000): Promise<void> {
    let check = () => {};
    const seen = new Promise<void>((resolve, reject) => {
      check = () => {
        if (this.text.includes(needle)) resolve();
        else if (this.ended) reject(new Error(`output ended without ${JSON.stringify(needle)}: ${JSON.stringify(this.text)}`));
      };
      this.checks.add(check);
      check();
    });
    return within(seen, ms, JSON.stringify(needle)).finally(() => this.checks.delete(check));
  }
}

export interface Child {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  stdout: Output;
  stderr: Output;
  /** performance.now() at the moment the exit was seen, taken in the same microtask. */
  exitedAt: Promise<number>;
}

// Every child ever spawned and not yet reaped, so an error or Ctrl-C leaves nothing behind.
const live = new Set<Subprocess>();

/** Spawns `cmd` with piped output; the child is killed by `killAll` if it is still running then. */
export function spawn(cmd: string[], env: Record<string, string>): Child {
  const proc = Bun.spawn(cmd, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  live.add(proc);
  const exitedAt = proc.exited.then(() => {
    const at = performance.now();
    live.delete(proc);
    return at;
  });
  return { proc, stdout: new Output(proc.stdout), stderr: new Output(proc.stderr), exitedAt };
}

/**
 * Spawns `cmd` with its output written to files (an output without one is dropped): for
 * output too large to hold in the bench's memory, such as a log of gigabytes. Killed by
 * `killAll` like any child.
 */
export function spawnToFiles(cmd: string[], env: Record<string, string>, files: { stdout?: string; stderr?: string }): Subprocess {
  const to = (file: string | undefined) => (file === undefined ? "ignore" : Bun.file(file));
  const proc = Bun.spawn(cmd, { env, stdin: "ignore", stdout: to(files.stdout), stderr: to(files.stderr) });
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  return proc;
}

/** Fails with the child's own words when it did not exit 0. */
export async function expectSuccess(child: Child, what: string): Promise<void> {
  const code = await child.proc.exited;
  if (code !== 0) throw new Error(`${what} exited ${code}: ${(await child.stderr.done).trim() || (await child.stdout.done).trim()}`);
}

/** Runs `cmd` to completion and returns its wall time in ms, from just before spawn to the exit. */
export async function timeRun(cmd: string[], env: Record<string, string>): Promise<number> {
  const started = performance.now();
  const child = spawn(cmd, env);
  const exited = await child.exitedAt;
  await expectSuccess(child, cmd.join(" "));
  return exited - started;
}

// GNU time, from Debian's "time" package; the shell keyword `time` cannot report memory.
const GNU_TIME = "/usr/bin/time";

/**
 * Peak resident memory of `cmd` in bytes, as GNU time reports it, or NaN without
 * /usr/bin/time. Not Bun's `resourceUsage().maxRSS`: Bun spawns with vfork semantics, and
 * Linux keeps the high-water mark of the memory a process had before its exec, so every
 * child reads at least the bench process's own peak. `time` forks the command from a small
 * process, so its figure is the command's own.
 */
export async function peakMemory(cmd: string[], env: Record<string, string>, scratch: string): Promise<number> {
  if (!existsSync(GNU_TIME)) return Number.NaN;
  const report = join(scratch, "peak-memory.txt");
  await expectSuccess(spawn([GNU_TIME, "-o", report, "-f", "%M", ...cmd], env), cmd.join(" "));
  return Number((await Bun.file(report).text()).trim().split("\n").pop()) * 1024;
}

/** Spawns `binary serve` on `socketPath` and resolves once it listens. */
export async function serve(binary: string, socketPath: string, env: Record<string, string>): Promise<Child> {
  const server = spawn([binary, "serve", "--socket-path", socketPath], env);
  await server.stderr.until("serving on");
  return server;
}

/** Stops a server the way an init system does, and waits until it is gone (its socket file with it). */
export async function stopServer(server: Child): Promise<void> {
  server.proc.kill("SIGTERM");
  await server.proc.exited;
}

/**
 * Memory of a live process, in bytes: resident now (VmRSS) and at its peak so far (VmHWM),
 * and the resident split into anonymous memory (heap, stacks: its own) and file-backed
 * pages (mostly the executable's code, shared with every process running the same binary).
 */
export function processMemory(pid: number): { rss: number; hwm: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kB("VmRSS"), hwm: kB("VmHWM"), anon: kB("RssAnon"), file: kB("RssFile") };
}

/** CPU time a live process used so far (user + system), in ms, from /proc/PID/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces: count fields from the ")" that closes it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15, in clock ticks of 10 ms (USER_HZ is 100 on Linux).
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** SIGTERM lets the server remove its socket; anything that ignores it is gone with the bench anyway. */
export function killAll(signal: NodeJS.Signals = "SIGTERM"): void {
  for (const proc of live) proc.kill(signal);
}

/** Runs `cleanUp` on any way out of the bench: normal exit, uncaught error, Ctrl-C or SIGTERM. */
export function onAnyExit(cleanUp: () => void): void {
  process.on("exit", cleanUp);
  // Without a handler a signal ends Bun without the "exit" event; exiting here raises it.
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));
}

export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}

/** Milliseconds with precision that matches what a noisy 2-core machine can tell apart. */
export function ms(value: number): string {
  return `${value < 100 ? value.toFixed(1) : value.toFixed(0)} ms`;
}

/** Bytes as MiB, one decimal. */
export function mib(bytes: number): string {
  if (Number.isNaN(bytes)) return "n/a";
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** A ratio to a baseline: two decimals near 1, where they mean something, fewer when it is large. */
export function times(ratio: number): string {
  return `${ratio.toFixed(ratio < 10 ? 2 : 0)}x`;
}

/** A goal of the benchmark and what this run measured against it; a miss is a finding, not a crash. */
export interface Target {
  target: string;
  measured: string;
  pass: boolean;
}

/** What each section of the suite hands the report: its Markdown, its raw samples, its targets. */
export interface SectionReport {
  markdown: string;
  json: unknown;
  targets: Target[];
}

/** Progress goes to stderr, so stdout carries the table and nothing else; a terminal sees one line. */
export function progress(message: string): void {
  process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${message}` : `${message}\n`);
}

/** Timer digits below a microsecond are noise; dropping them keeps the JSON readable (a JSON.stringify replacer). */
function roundToMicroseconds(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
}

/** Saves a report as bench/results/<name>.md and .json, and prints its Markdown on stdout. */
export async function writeReport(name: string, report: { markdown: string; json: unknown }): Promise<void> {
  const results = join(import.meta.dir, "results");
  mkdirSync(results, { recursive: true });
  await Bun.write(join(results, `${name}.md`), report.markdown);
  await Bun.write(join(results, `${name}.json`), `${JSON.stringify(report.json, roundToMicroseconds, 2)}\n`);
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  console.log(report.markdown);
}

/** What the sections of `npm run bench` share: the binary under test, a temp directory, and the run's main server. */
export interface Suite {
  binary: string;
  /** Removed at the end of the run; sockets, markers and compiled baselines go here. */
  dir: string;
  /** The main server's socket, for sections that need no server of their own. */
  socketPath: string;
  /** Environment for clients of the main server. */
  env: Record<string, string>;
}

/** The environment of a client command talking to the server on `socketPath`, without colour. */
export function clientEnv(socketPath: string): Record<string, string> {
  return { ...(process.env as Record<string, string>), NO_COLOR: "1", UNITSYNC_SOCKET_PATH: socketPath };
}

/** The phrase of a `unitsync start` that waits; the pollers of the benchmark print it too. */
export const WAITING_LINE = "is waiting for dependencies";

/**
 * Coder's `exp sync start`: check once, print the waiting line, then re-check every second
 * (first re-check 1 s after the line) until ready. Coder re-checks over an open connection;
 * here each check is a process, which costs the baseline a few ms per check, not more.
 * Arguments: the binary, the unit.
 */
export const CODER_LOOP = `
bin=$1 unit=$2
ready() { "$bin" status "$unit" -o json | grep -q '"is_ready": *true'; }
if ! ready; then
  echo "Unit \\"$unit\\" ${WAITING_LINE} to be satisfied"
  until sleep 1; ready; do :; done
fi`;

/** The loop people write when they have nothing better: wait for a file another script touches. Argument: the file. */
export const MARKER_LOOP = `
echo "${WAITING_LINE}: $1"
while [ ! -f "$1" ]; do sleep 1; done`;

/**
 * One request over the socket from this process, its whole answer read (so a `start` is
 * over when this returns). Bun's fetch keeps the connection alive for the next request.
 */
export async function api(socketPath: string, method: string, path: string, body?: unknown): Promise<{ ok: boolean; text: string }> {
  const response = await fetch(`http://unitsync/v1${path}`, {
    method,
    unix: socketPath,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  return { ok: response.ok, text: await response.text() };
}

/** Like `api`, but fails with the server's words unless the answer is a success. */
export async function apiOk(socketPath: string, method: string, path: string, body?: unknown): Promise<string> {
  const { ok, text } = await api(socketPath, method, path, body);
  if (!ok) throw new Error(`${method} ${path}: ${text.trim()}`);
  return text;
}
