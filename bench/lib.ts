/**
 * Helpers for bench/run.ts: statistics, children that are always cleaned up, output
 * that can be waited on line by line, and Markdown tables.
 */
import type { Subprocess } from "bun";
import { mkdirSync } from "node:fs";
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
