import { UnitsyncError } from "../protocol/index.ts";
import { benchRun, progressLine, type BenchRun, type RunOutcome } from "../render/bench.ts";
import { formatDuration } from "../render/duration.ts";
import { truncate } from "../render/timeline.ts";
import type { Script, SkippedFile } from "./scripts.ts";
import { runStartup, type StartupOutcome } from "./supervisor.ts";

export interface BenchmarkOptions {
  scripts: readonly Script[];
  skipped?: readonly SkippedFile[];
  /** Measured runs. */
  runs: number;
  /** Unmeasured runs first, to warm caches. */
  warmup: number;
  /** Per run; 0 for no limit. */
  timeoutMs: number;
  /** Shell commands before and after each run, warm-up runs included (hyperfine's `--prepare`, `--cleanup`). */
  prepare?: string;
  cleanup?: string;
  /** Serve every run here instead of on a private socket of its own. */
  socketPath?: string;
}

export interface BenchmarkResult {
  runs: BenchRun[];
  /** Ctrl-C ended it early: `runs` holds the runs measured until then. */
  interrupted: boolean;
}

/**
 * Runs the whole start-up `warmup + runs` times, each against a fresh private server, with
 * the scripts' output discarded; reports progress on stderr (a bar on a terminal, a line
 * per run otherwise) and returns every measured run, failed and deadlocked ones included.
 */
export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkResult> {
  const progress = new Progress(options.runs);
  const runs: BenchRun[] = [];
  let interrupted = false;
  const onSignal = () => void (interrupted = true);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const total = options.warmup + options.runs;
    for (let index = 0; index < total && !interrupted; index++) {
      const warm = index < options.warmup;
      const label = warm ? "warm-up" : "run";
      const number = warm ? index + 1 : index - options.warmup + 1;
      const around = (command: string | undefined, flag: string) => (command === undefined ? undefined : shell(command, flag, `${label} ${number}`, () => interrupted));
      await around(options.prepare, "--prepare");
      if (interrupted) break;
      progress.starting(label, number, warm ? options.warmup : options.runs);
      const outcome = await runStartup({
        scripts: options.scripts,
        skipped: options.skipped,
        timeoutMs: options.timeoutMs,
        socketPath: options.socketPath,
        quiet: true,
      });
      if (outcome.stopped === "interrupted") interrupted = true;
      await around(options.cleanup, "--cleanup");
      if (interrupted) break;
      const run = benchRun(outcomeOf(outcome), problemsOf(outcome), outcome.wallMs, outcome.timeline);
      if (!warm) runs.push(run);
      progress.ended(label, number, warm ? options.warmup : options.runs, run);
    }
  } finally {
    progress.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  return { runs, interrupted };
}

function outcomeOf(outcome: StartupOutcome): RunOutcome {
  if (outcome.stopped === "deadlock") return "deadlock";
  if (outcome.stopped === "timeout") return "timeout";
  return outcome.scriptsFailed || outcome.unitsFailed ? "failed" : "ok";
}

/** Why a run is not ok, most telling first: the deadlock, the units that failed first, then the scripts. */
function problemsOf(outcome: StartupOutcome): string[] {
  const firstFailures = outcome.timeline.units.filter((unit) => unit.status === "failed" && !unit.reason?.startsWith("dependency "));
  return [
    ...(outcome.stopped === "timeout" ? ["the start-up took longer than --timeout"] : []),
    ...(outcome.stopped === "server" ? ["the server died and could not be started again"] : []),
    ...outcome.deadlock.slice(1).map((line) => line.trim()),
    ...firstFailures.map((unit) => `${unit.unit_name} failed${unit.reason ? `: ${unit.reason}` : ""}`),
    ...outcome.scriptProblems,
  ];
}

/**
 * Runs a `--prepare` or `--cleanup` command with `sh -c`; a failure ends the benchmark, as in
 * hyperfine, unless Ctrl-C (which the command got too) is why it failed.
 */
async function shell(command: string, flag: string, when: string, interrupted: () => boolean): Promise<void> {
  const child = Bun.spawn(["sh", "-c", command], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  const [stderr, exitCode] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  if (exitCode === 0 || interrupted()) return;
  const last = stderr.trimEnd().split("\n").at(-1);
  // Not the user's usage and not unitsync's fault: a runtime error, exit 1.
  throw new UnitsyncError("bad_request", `${flag} command exited ${exitCode} at ${when}${last ? `: ${last}` : ""}`);
}

const BAR_WIDTH = 30;

/**
 * Progress on stderr: on a terminal one line redrawn in place (a bar, the runs done, the
 * last start-up and an estimate of what is left); elsewhere (CI logs) a plain line per run.
 */
class Progress {
  private readonly tty = Boolean(process.stderr.isTTY) && process.env.TERM !== "dumb";
  private readonly began = performance.now();
  private done = 0;
  private last = "";

  constructor(private readonly runs: number) {}

  starting(label: string, index: number, total: number): void {
    if (!this.tty) return;
    this.draw(`${label} ${index}/${total}`);
  }

  ended(label: string, index: number, total: number, run: BenchRun): void {
    if (label === "run") this.done++;
    const line = progressLine(label, index, total, run);
    if (!this.tty) return void process.stderr.write(`${line}\n`);
    // A run that was not ok keeps its line above the bar.
    if (run.outcome !== "ok") process.stderr.write(`\r\x1b[2K${line}\n`);
    this.last = run.outcome === "ok" ? `last ${formatDuration(run.end_ms)}` : `last ${run.outcome}`;
    this.draw(`${label} ${index}/${total}`);
  }

  close(): void {
    if (this.tty) process.stderr.write("\r\x1b[2K");
  }

  private draw(what: string): void {
    const filled = Math.round((this.done / Math.max(1, this.runs)) * BAR_WIDTH);
    const perRun = this.done > 0 ? (performance.now() - this.began) / this.done : undefined;
    const left = perRun === undefined ? "" : `, about ${formatDuration(perRun * (this.runs - this.done))} left`;
    const bar = `${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}`;
    // Cut to the terminal's width: a line that wraps could not be redrawn in place.
    const line = truncate(`Benchmark ${bar} ${what}${this.last ? `, ${this.last}` : ""}${left}`, Math.max(20, (process.stderr.columns ?? 80) - 1));
    process.stderr.write(`\r\x1b[2K${line}`);
  }
}
