/**
 * A failure down a deep chain (issue 12, item 6): a1 -> a2 -> ... -> aN, each unit depending
 * on the next, then `fail aN`. While each propagated reason repeated the whole chain below
 * it, this cost O(N²): on 10,000 units, 6.4 s, 1.5 GB of log and 5.3 GB of memory. Per
 * chain length, on a fresh server each trial: the time from the `fail` request to its
 * answer, the server's CPU time and memory, the serve log the failure wrote, and what each
 * command prints afterwards.
 */
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import {
  clientEnv,
  expectSuccess,
  inBatches,
  markdownTable,
  median,
  mib,
  ms,
  processCpuMs,
  processMemory,
  progress,
  spawn,
  spawnToFiles,
  type SectionReport,
  type Suite,
  type Target,
} from "./lib.ts";

/** The chain lengths, or those of UNITSYNC_BENCH_DEEP_LENGTHS (`10000` or `2000,5000`): to measure one again. */
export const DEEP_CHAIN_LENGTHS: readonly number[] = process.env.UNITSYNC_BENCH_DEEP_LENGTHS?.split(",").map(Number) ?? [1_000, 2_000, 5_000, 10_000];
const TRIALS = 3;
/** Requests in flight while declaring a chain: setup, not what is measured. */
const CONCURRENCY = 64;
const COMMANDS = [["list", "-o", "json"], ["list"], ["timeline"], ["timeline", "-o", "json"], ["graph", "-o", "json"], ["events"]];
/**
 * Past these the server (or the command) is killed and the rest of the run is skipped: a
 * binary from before the fix needs gigabytes and seconds per command at 10,000 units.
 */
const MEMORY_CAP = 8 * 2 ** 30;
const TIME_CAP_MS = 120_000;
/** What issue 12 asks of the 10,000-deep chain. */
const TARGET = { length: 10_000, failMs: 100, rss: 100 * 2 ** 20, output: 10 * 1000 ** 2 };

/** What one command printed on stdout, or how it failed. */
export interface CommandOutput {
  bytes: number;
  exitCode: number | null;
  ms: number;
  error?: string;
}

export interface DeepFailureTrial {
  length: number;
  trial: number;
  /** From the `fail` request to its whole answer, from the bench process: no process start-up in it. */
  failMs?: number;
  /** The server's CPU time from the request to the end of the ping after it: the failure and its log (10-ms ticks). */
  serverCpuMs?: number;
  /** Resident memory just before `fail`, and the high-water mark once it and its log are done. */
  rssBefore: number;
  peakAfterFail?: number;
  /** The high-water mark after the commands (first trial only). */
  peakAfterCommands?: number;
  /** Bytes of serve log from `fail` on (nothing else is logged after it but the shutdown line). */
  logBytes?: number;
  /** First trial only: what each command printed. */
  outputs?: Record<string, CommandOutput>;
  /** Why the trial stopped early, if it did. */
  capped?: string;
}

/** Every length, shortest first, TRIALS fresh servers each; stops at the first length that hits a cap. */
export async function measureDeepFailure({ binary, dir }: Suite): Promise<DeepFailureTrial[]> {
  const trials: DeepFailureTrial[] = [];
  for (const length of DEEP_CHAIN_LENGTHS) {
    for (let trial = 0; trial < TRIALS; trial++) {
      progress(`deep failure: chain of ${length}, trial ${trial + 1}/${TRIALS}`);
      const result = await deepFailureTrial(binary, join(dir, `deep-${length}-${trial}`), length, trial);
      trials.push(result);
      if (result.capped) return trials;
    }
  }
  return trials;
}

async function deepFailureTrial(binary: string, base: string, length: number, trial: number): Promise<DeepFailureTrial> {
  const socketPath = `${base}.sock`;
  const log = `${base}.log`;
  const env = clientEnv(socketPath);
  const server = spawnToFiles([binary, "serve", "--socket-path", socketPath], env, { stderr: log });
  const cap = memoryCap(server.pid, "server");
  try {
    await expectSuccess(spawn([binary, "ping", "--wait-for-server", "10s"], env), "ping of the new server");
    const units = Array.from({ length: length - 1 }, (_, k) => k + 1);
    await inBatches(units, CONCURRENCY, (k) => request(socketPath, `/units/a${k}/dependencies`, { depends_on: [`a${k + 1}`] }));
    const rssBefore = processMemory(server.pid).rss;
    const logBefore = statSync(log).size;
    const cpuBefore = processCpuMs(server.pid);
    const started = performance.now();
    const answer = await request(socketPath, `/units/a${length}/fail`, { reason: "exit code 1" }).catch((error: Error) => error);
    const failMs = performance.now() - started;
    if (answer instanceof Error) return { length, trial, rssBefore, capped: cap.fired ?? `fail: ${answer.message}` };
    // The serve log of the failure may be written after the answer: a ping after it waits for that.
    await expectSuccess(spawn([binary, "ping"], env), "ping after the failure");
    const measured: DeepFailureTrial = {
      length,
      trial,
      failMs,
      serverCpuMs: processCpuMs(server.pid) - cpuBefore,
      rssBefore,
      peakAfterFail: processMemory(server.pid).hwm,
    };
    if (trial === 0) {
      measured.outputs = {};
      for (const args of COMMANDS) {
        const output = await commandOutput(binary, args, env, `${base}.out`);
        measured.outputs[args.join(" ")] = output;
        if (cap.fired) return { ...measured, capped: cap.fired };
        if (output.error) {
          measured.capped = `${args.join(" ")}: ${output.error}`;
          break;
        }
      }
      measured.peakAfterCommands = processMemory(server.pid).hwm;
    }
    server.kill("SIGTERM");
    await server.exited;
    measured.logBytes = statSync(log).size - logBefore;
    return measured;
  } finally {
    cap.stop();
    server.kill("SIGKILL");
    await server.exited;
    rmSync(log, { force: true });
  }
}

/** One POST from this process, its answer read to the end; throws on a refusal or after TIME_CAP_MS. */
async function request(socketPath: string, path: string, body: unknown): Promise<void> {
  const response = await fetch(`http://unitsync/v1${path}`, {
    method: "POST",
    unix: socketPath,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIME_CAP_MS),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: ${text.trim()}`);
}

/** Runs a command with its stdout in a file, which can be of any size, and measures it. */
async function commandOutput(binary: string, args: string[], env: Record<string, string>, base: string): Promise<CommandOutput> {
  const [stdout, stderr] = [`${base}.stdout`, `${base}.stderr`];
  const started = performance.now();
  const child = spawnToFiles([binary, ...args], env, { stdout, stderr });
  const cap = memoryCap(child.pid, "command");
  const timer = setTimeout(() => child.kill("SIGKILL"), TIME_CAP_MS);
  try {
    const exitCode = await child.exited;
    const output: CommandOutput = { bytes: statSync(stdout).size, exitCode, ms: performance.now() - started };
    const said = (await Bun.file(stderr).text()).split("\n")[0]!.slice(0, 200);
    if (exitCode !== 0) output.error = cap.fired ?? `exit ${exitCode ?? child.signalCode}${said ? `: ${said}` : ""}`;
    return output;
  } finally {
    clearTimeout(timer);
    cap.stop();
    rmSync(stdout, { force: true });
    rmSync(stderr, { force: true });
  }
}

/** Kills the process once its resident memory passes MEMORY_CAP; `fired` then says so. */
function memoryCap(pid: number, what: string): { fired: string | undefined; stop(): void } {
  const cap = {
    fired: undefined as string | undefined,
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    try {
      if (processMemory(pid).rss <= MEMORY_CAP) return;
    } catch {
      return; // already gone
    }
    cap.fired = `${what} killed at ${mib(MEMORY_CAP)} of resident memory`;
    process.kill(pid, "SIGKILL");
  }, 50);
  return cap;
}

/** Bytes as the README writes sizes: kB, MB, GB (powers of 1,000). */
function size(bytes: number | undefined): string {
  if (bytes === undefined) return "-";
  if (bytes < 1000 ** 2) return `${(bytes / 1000).toFixed(0)} kB`;
  if (bytes < 1000 ** 3) return `${(bytes / 1000 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1000 ** 3).toFixed(2)} GB`;
}

export function reportDeepFailure(trials: DeepFailureTrial[]): SectionReport {
  const lengths = [...new Set(trials.map((t) => t.length))];
  const of = (length: number) => trials.filter((t) => t.length === length);
  const first = (length: number) => of(length).find((t) => t.trial === 0)!;
  const failed = (length: number) => of(length).filter((t) => t.failMs !== undefined);
  const output = (length: number, command: string) => {
    const measured = first(length).outputs?.[command];
    return measured === undefined ? "-" : measured.error ? `${size(measured.bytes)} (${measured.error})` : size(measured.bytes);
  };
  const rows = lengths.map((length) => {
    const done = failed(length);
    const peak = Math.max(...done.map((t) => t.peakAfterFail!));
    return [
      length.toLocaleString("en-US"),
      done.length === 0 ? "-" : `${ms(median(done.map((t) => t.failMs!)))} (${done.map((t) => ms(t.failMs!)).join(", ")})`,
      done.length === 0 ? "-" : ms(median(done.map((t) => t.serverCpuMs!))),
      done.length === 0 ? "-" : `${mib(median(done.map((t) => t.rssBefore)))} -> ${mib(peak)}`,
      first(length).peakAfterCommands === undefined ? "-" : mib(first(length).peakAfterCommands!),
      size(first(length).logBytes),
      ...COMMANDS.map((args) => output(length, args.join(" "))),
    ];
  });
  const capped = trials.filter((t) => t.capped).map((t) => `chain of ${t.length.toLocaleString("en-US")}, trial ${t.trial + 1}: ${t.capped}`);
  const markdown = [
    `## Deep failure: \`fail\` at the bottom of a chain of N units`,
    ``,
    markdownTable(
      ["chain", "`fail` answered: median (trials)", "server CPU: `fail` and its log", "server RSS: before -> peak after `fail` and its log", "peak after the commands", "serve log from `fail`", ...COMMANDS.map((args) => `\`${args.join(" ")}\``)],
      rows,
    ),
    ``,
    `${TRIALS} trials per length, each on a fresh server; the commands run in the first trial only (their output does not vary).` +
      (capped.length === 0 ? "" : ` Stopped early: ${capped.join("; ")}.`),
  ].join("\n");
  const targets = lengths.includes(TARGET.length) ? targetsAt(of(TARGET.length), capped) : [];
  return { markdown, json: trials, targets };
}

/** The targets, from the trials of the 10,000-deep chain. */
function targetsAt(trials: DeepFailureTrial[], capped: string[]): Target[] {
  const done = trials.filter((t) => t.failMs !== undefined);
  if (done.length === 0) return [{ target: "`fail` of a 10,000-deep chain", measured: capped.join("; ") || "not reached", pass: false }];
  const failMs = median(done.map((t) => t.failMs!));
  const peak = Math.max(...done.map((t) => t.peakAfterFail!));
  const first = trials.find((t) => t.trial === 0)!;
  const outputs = Object.entries(first.outputs ?? {}).map(([name, o]) => [name, o.bytes] as const);
  const sizes = [...outputs, ["serve log", first.logBytes ?? Number.NaN] as const];
  const largest = sizes.reduce((most, entry) => (entry[1] > most[1] ? entry : most));
  return [
    { target: `\`fail\` of a 10,000-deep chain answered < ${TARGET.failMs} ms (median)`, measured: ms(failMs), pass: failMs < TARGET.failMs },
    { target: `server RSS < ${mib(TARGET.rss)} through that \`fail\` and its log`, measured: mib(peak), pass: peak < TARGET.rss },
    {
      target: "every command's output and the serve log < 10 MB after it",
      measured: `largest: ${largest[0]}, ${size(largest[1])}`,
      pass: outputs.length === COMMANDS.length && sizes.every(([, bytes]) => bytes < TARGET.output),
    },
  ];
}
