import { readLines } from "../protocol/lines.ts";
import { paletteFor } from "../render/color.ts";
import { formatDuration } from "../render/duration.ts";
import { formatTable } from "../render/text.ts";
import { formatTimeline, outputColumns, truncate } from "../render/timeline.ts";
import { ENV, type StoppedScript, type TimelineResponse } from "../protocol/index.ts";
import { explainDeadlock, scriptsBlockage, type RunningScript, type SupervisorView } from "./deadlock.ts";
import { StatusArea, statusLines, type UnitView } from "./live-view.ts";
import { prefixer, skippedFor, type Script, type SkippedFile } from "./scripts.ts";
import { ServerProcess } from "./server-process.ts";

/** How long a stopped script gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 3_000;

/** The pauses before another look for a deadlock no event may reveal: doubling, up to a second. */
const RETRY_FIRST_MS = 25;
const RETRY_LAST_MS = 1_000;

/** How long the scripts' own client commands wait for `up`'s server when it is being started again. */
const RIDE_OVER_RESTART = "30s";

/** Why `up` stopped the scripts before they ended by themselves; "server": it died and could not be started again. */
export type StopReason = "deadlock" | "timeout" | "interrupted" | "server";

interface Run extends RunningScript {
  script: Script;
  process: ReturnType<typeof Bun.spawn>;
  startedAt: number;
  endedAt?: number;
  /** `endedAt` on the server's (the wall) clock, where the timeline's times are. */
  endedOnServer?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Signalled by `up` itself, for `stopping`'s reason. */
  stopped?: boolean;
  output: Promise<void>;
}

export interface StartupOptions {
  scripts: readonly Script[];
  /** Files in the named directories not run because they are not executable. */
  skipped?: readonly SkippedFile[];
  /** 0 for no limit. */
  timeoutMs: number;
  /** Serve here instead of on a private socket of its own. */
  socketPath?: string;
  /** Also save the timeline as an SVG picture there. */
  timelineSvg?: string;
  /**
   * One run of a benchmark: the scripts' output is discarded and nothing is printed (no live
   * view, no summary, no timeline); what happened comes back in the outcome instead.
   */
  quiet?: boolean;
}

/** How a start-up ended: whether `up` stopped it, and whether any script or unit failed. */
export interface StartupOutcome {
  stopped: StopReason | undefined;
  scriptsFailed: boolean;
  unitsFailed: boolean;
  /** The timeline as the start-up ended. */
  timeline: TimelineResponse;
  /** From the first script's spawn until the last one exited. */
  wallMs: number;
  /** `10-clone.sh: exit 1`: each script that did not exit 0 before `up` stopped it, and how it ended. */
  scriptProblems: string[];
  /** What `up` said about a deadlock, line by line; empty without one. */
  deadlock: string[];
}

/**
 * Runs a workspace's start-up scripts in parallel against a server of its own, as an agent
 * would: their lines prefixed on stdout and stderr, a live view on a terminal, deadlocks
 * found and explained as they happen, a time limit, and at the end a summary per script and
 * the timeline. Leaves nothing running behind it.
 */
export async function runStartup({ scripts, skipped = [], timeoutMs, socketPath: given, timelineSvg, quiet = false }: StartupOptions): Promise<StartupOutcome> {
  const { mkdtempSync, rmSync, symlinkSync } = await import("node:fs");
  const { dirname, join } = await import("node:path");
  const { tmpdir } = await import("node:os");
  const privateDir = given === undefined ? mkdtempSync(join(tmpdir(), "unitsync-up-")) : undefined;
  const socketPath = privateDir ? join(privateDir, "unitsync.sock") : given!;
  const out = paletteFor(process.stdout);
  const prefix = prefixer([...scripts.map((s) => s.name), "up"], out);
  let live: StatusArea | undefined;
  const emit = (stream: NodeJS.WriteStream, text: string) => (live ? live.write(stream, text) : void stream.write(text));
  const say = (text: string) => (quiet ? undefined : emit(process.stdout, `${prefix("up")}${text}\n`));
  let stopAll = (_reason: StopReason) => {};
  const launched = ServerProcess.launch({
    socketPath,
    say,
    onLost: (why) => {
      say(out.red(why));
      stopAll("server");
    },
  });
  /** The server once it answers; the scripts may have started before (see below). */
  let server: ServerProcess | undefined;

  const began = performance.now();
  const elapsed = () => formatDuration(performance.now() - began);
  // On a terminal, a live view of the units stays below the scripts' lines, drawn from the
  // server's latest timeline.
  let latest: Awaited<ReturnType<ServerProcess["timeline"]>>;
  live =
    !quiet && process.stdout.isTTY && process.env.TERM !== "dumb"
      ? new StatusArea(process.stdout, () => statusLines(latest ? unitViews(latest.timeline, latest.unsatisfied) : [], wallClock(), performance.now() - began, out, server?.locks() ?? []))
      : undefined;
  const forward = async (from: ReadableStream<Uint8Array>, to: NodeJS.WriteStream, label: string) => {
    for await (const line of readLines(from)) emit(to, `${label}${line}\n`);
  };
  // A redraw asks the server for its timeline: at most one question at a time, and the next
  // only after four times as long as the last took, so a start-up of thousands of units
  // spends at most a fifth of its server's time on the picture.
  let refreshQueued = false;
  let askTookMs = 0;
  const refresh = () => {
    const asking = server;
    if (!live || refreshQueued || !asking) return;
    refreshQueued = true;
    setTimeout(
      async () => {
        const asked = performance.now();
        latest = (await asking.timeline()) ?? latest;
        askTookMs = performance.now() - asked;
        refreshQueued = false;
        live?.refresh();
      },
      Math.max(30, 4 * askTookMs),
    );
  };
  const ticker = live ? setInterval(refresh, 250) : undefined;

  let stopping: StopReason | undefined;
  const deadlock: string[] = [];
  const runs: Run[] = [];
  stopAll = (reason: StopReason) => {
    if (stopping) return;
    stopping = reason;
    const running = runs.filter((run) => run.endedAt === undefined);
    for (const run of running) {
      run.stopped = true;
      signalGroup(run.pid, "SIGTERM");
    }
    setTimeout(() => {
      for (const run of running) if (run.endedAt === undefined) signalGroup(run.pid, "SIGKILL");
    }, STOP_GRACE_MS).unref();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping every script`);
    stopAll("interrupted");
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  // Deadlock: checked whenever something changes; a finding is confirmed by a second look a
  // moment later, so a process between two states is not mistaken. A process falling asleep
  // (a `tee` behind a waiting start) changes nothing the server sees, so while every script
  // has a start waiting, another look comes after a growing pause.
  let checking = false;
  let recheck = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let retryMs = RETRY_FIRST_MS;
  const lookAgainLater = () => {
    if (retry !== undefined || stopping) return;
    retry = setTimeout(() => {
      retry = undefined;
      void checkDeadlock();
    }, retryMs);
    retryMs = Math.min(retryMs * 2, RETRY_LAST_MS);
  };
  const checkDeadlock = async () => {
    // Until the server answers, nothing can be stuck on it.
    const ready = server;
    if (!ready) return;
    if (checking) return void (recheck = true);
    checking = true;
    try {
      do {
        recheck = false;
        const running = () => runs.filter((run) => run.endedAt === undefined);
        // Each look reads the server afresh; while it is being started again, nothing is stuck.
        const look = async () => (!stopping && (await ready.refresh()) ? await scriptsBlockage(ready, running()) : "busy");
        const first = await look();
        if (first === "waiting") lookAgainLater();
        if (first !== "blocked") continue;
        await Bun.sleep(25);
        const second = await look();
        if (second === "waiting") lookAgainLater();
        if (second !== "blocked" || !(await ready.refresh({ details: true }))) continue;
        deadlock.push(...explainDeadlock(ready), ...(await skippedHints(ready, skipped)));
        for (const line of deadlock) say(out.red(line));
        stopAll("deadlock");
      } while (recheck);
    } finally {
      checking = false;
    }
  };

  // A `coder` that is this binary, first on the scripts' PATH: scripts written for Coder's
  // agent (`coder exp sync ...`) run unchanged, against this server.
  const linkDir = mkdtempSync(join(tmpdir(), "unitsync-up-bin-"));
  symlinkSync(process.execPath, join(linkDir, "coder"));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    [ENV.socketPath]: socketPath,
    [ENV.coderSocketPath]: socketPath,
    // Their client commands wait for a server being started again, as waiting ones do anyway.
    [ENV.waitForServer]: process.env[ENV.waitForServer] ?? RIDE_OVER_RESTART,
    // The scripts' own `unitsync` calls reach this binary, whatever else is on PATH.
    PATH: `${linkDir}:${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
    // `up` explains a stuck start-up itself; the scripts' own reports only when asked for.
    [ENV.reportEvery]: process.env[ENV.reportEvery] ?? "0",
    // A script is no unit (it may start several): its commands nest under the start-up's
    // root span; `unitsync run` inside it puts each command under its own unit's span.
    TRACEPARENT: launched.traceparent,
  };
  delete env.TRACESTATE;
  say(`${scripts.length} scripts, server (pid ${launched.pid}) on ${socketPath}`);
  for (const file of skipped) say(`skipped ${file.name}: not executable; chmod +x ${file.shown} to run it`);
  const spawnScripts = () => {
    for (const script of scripts) {
      const child = Bun.spawn(script.command, {
        env: { ...env, [ENV.script]: script.name },
        stdin: "ignore",
        // A benchmark run does not read the scripts' output: it goes nowhere rather than through a pipe.
        stdout: quiet ? "ignore" : "pipe",
        stderr: quiet ? "ignore" : "pipe",
        // Its own process group, so stopping it stops what it started too.
        detached: true,
      });
      const label = prefix(script.name);
      const output = quiet
        ? Promise.resolve()
        : Promise.all([
            forward(child.stdout as ReadableStream<Uint8Array>, process.stdout, label),
            forward(child.stderr as ReadableStream<Uint8Array>, process.stderr, label),
          ]).then(() => {});
      const run: Run = { name: script.name, pid: child.pid, script, process: child, startedAt: performance.now(), output };
      runs.push(run);
      void child.exited.then((exitCode) => {
        run.endedAt = performance.now();
        run.endedOnServer = wallClock();
        run.exitCode = exitCode;
        run.signal = child.signalCode === null ? null : String(child.signalCode);
        void checkDeadlock();
      });
    }
  };
  // The private socket is up's alone, so the scripts start while the server does: their
  // clients wait for it (UNITSYNC_WAIT_FOR_SERVER), and its start-up hides behind theirs. A
  // socket path given may still be another server's until ours holds it, and a wait for a
  // server set to 0 would fail at once: there they wait.
  const early = privateDir !== undefined && process.env[ENV.waitForServer] === undefined;
  /** What `up` set up around the scripts, undone when they have ended, however it ends. */
  const stopWatching = () => {
    clearInterval(ticker);
    live?.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  /** Its files; `journal`: also the journal our server kept on a socket path given to `up`. */
  const removeFiles = (journal: boolean) => {
    // The journal was for this start-up's own restarts: nothing should recover from it later.
    if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    else if (journal) rmSync(`${socketPath}.journal`, { force: true });
    rmSync(linkDir, { recursive: true, force: true });
  };
  if (early) spawnScripts();
  try {
    server = await launched.ready;
  } catch (error) {
    stopAll("server");
    await Promise.all(runs.map((run) => run.process.exited));
    await stopGroups(runs.map((run) => run.pid));
    stopWatching();
    // A server that did not start kept no journal: one there is another server's.
    removeFiles(false);
    throw error;
  }
  if (!early) spawnScripts();
  const unsubscribe = server.onChange(() => {
    retryMs = RETRY_FIRST_MS;
    void checkDeadlock();
    refresh();
  });
  // What changed before `up` followed the server is looked at now.
  void checkDeadlock();
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          say(out.red(`start-up took longer than ${formatDuration(timeoutMs)}: stopping every script`));
          stopAll("timeout");
        }, timeoutMs)
      : undefined;

  // A script is done when its own process exits; what it left running in the background
  // (a service, say) may hold its output open, so that is not waited for long.
  await Promise.all(runs.map((run) => run.process.exited.then(() => Promise.race([run.output, Bun.sleep(200)]))));
  clearTimeout(timer);
  clearTimeout(retry);
  // The timeline is the start-up's, taken as it ended: what `up` stopped reads as stopped
  // there, not as going on while the leftovers are cleaned up.
  const stoppedScripts: StoppedScript[] = runs.flatMap((run) => (run.stopped && run.endedOnServer !== undefined ? [{ script: run.name, at: run.endedOnServer }] : []));
  const timeline = (await server.timeline(stoppedScripts))?.timeline ?? emptyTimeline(wallClock());
  // Whatever the scripts left running is stopped with them: `up` leaves nothing behind.
  await stopGroups(runs.map((run) => run.pid));
  stopWatching();
  unsubscribe();

  const failedUnits = timeline.units.filter((unit) => unit.status === "failed");
  const firstSpawn = runs.reduce((first, run) => Math.min(first, run.startedAt), Infinity);
  const wallMs = runs.reduce((longest, run) => Math.max(longest, (run.endedAt ?? performance.now()) - firstSpawn), 0);
  say(`all scripts ended after ${elapsed()}`);
  if (!quiet) {
    process.stdout.write(`\n${summaryTable(runs, timeline, (unit) => server.starterOf(unit), stopping)}\n`);
    process.stdout.write(formatTimeline(timeline, out, outputColumns()));
  }
  if (timelineSvg !== undefined && !quiet) {
    const { timelineSvg: toSvg } = await import("../render/timeline-svg.ts");
    await Bun.write(timelineSvg, toSvg(timeline));
    say(`timeline saved to ${timelineSvg}`);
  }
  await server.stop();
  removeFiles(true);

  return {
    stopped: stopping,
    scriptsFailed: runs.some((run) => run.exitCode !== 0),
    unitsFailed: failedUnits.length > 0,
    timeline,
    wallMs,
    // A script up stopped is explained by why it stopped them all, not by its own ending.
    scriptProblems: runs.filter((run) => run.exitCode !== 0 && !run.stopped).map((run) => `${run.name}: ${scriptEnding(run, stopping)}`),
    deadlock,
  };
}

/**
 * Ends every process left in `groups`: SIGTERM, then SIGKILL for what is still there after
 * the grace period. Returns once the groups are empty, so nothing outlives `up`.
 */
async function stopGroups(groups: readonly number[]): Promise<void> {
  const { liveGroups, readProcessTable } = await import("./process-tree.ts");
  for (const group of groups) signalGroup(group, "SIGTERM");
  const deadline = performance.now() + STOP_GRACE_MS;
  for (let live = liveGroups(groups, await readProcessTable()); live.length > 0; live = liveGroups(live, await readProcessTable())) {
    if (performance.now() > deadline) for (const group of live) signalGroup(group, "SIGKILL");
    await Bun.sleep(10);
  }
}

/** For each name a deadlocked start waits for and nobody registered: the skipped files that might have. */
async function skippedHints(view: SupervisorView, skipped: readonly SkippedFile[]): Promise<string[]> {
  if (skipped.length === 0) return [];
  const missing = new Set(
    view.waitingStarts().flatMap((start) => view.detailsOf(start.unit).filter((d) => d.current_status === "not registered").map((d) => d.depends_on)),
  );
  const lines: string[] = [];
  for (const unit of [...missing].sort()) {
    for (const file of await skippedFor(unit, skipped)) {
      lines.push(`  perhaps ${file.name} would have registered ${JSON.stringify(unit)}: up skipped it as not executable (chmod +x ${file.shown})`);
    }
  }
  return lines;
}

/** Every registered unit as the live view shows it, from the server's timeline. */
function unitViews(timeline: TimelineResponse, unsatisfied: ReadonlyMap<string, string[]>): UnitView[] {
  const origin = Date.parse(timeline.origin);
  return timeline.units.map((unit) => {
    const { registered_ms, start_requested_ms, started_ms, ended_ms } = unit;
    return {
      name: unit.unit_name,
      status: unit.status,
      since: origin + (ended_ms ?? started_ms ?? start_requested_ms ?? registered_ms),
      startRequested: start_requested_ms !== undefined,
      waitingFor: unsatisfied.get(unit.unit_name) ?? [],
      reason: unit.reason,
      ranMs: ended_ms !== undefined ? unit.run_ms : undefined,
    };
  });
}

/** The timeline of a start-up whose server could not be asked at its end. */
function emptyTimeline(now: number): TimelineResponse {
  return { origin: new Date(now).toISOString(), now_ms: 0, end_ms: 0, units: [], critical_path: [] };
}

/** `ok`, `exit 1`, `killed by SIGKILL`, `stopped (deadlock)`: how a script ended. */
function scriptEnding(run: Run, stopping: StopReason | undefined): string {
  if (run.signal) return run.stopped ? `stopped (${stopping})` : `killed by ${run.signal}`;
  return run.exitCode === 0 ? "ok" : `exit ${run.exitCode}`;
}

/** Signals a script's whole process group; one that is already gone is fine. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already exited.
  }
}

/**
 * Per script: the units it started, how it ended, how long its units waited, and how long
 * the script took (its own wall time: `took`, not `ran`, which the timeline uses for a unit).
 */
function summaryTable(
  runs: readonly Run[],
  timeline: TimelineResponse,
  starterOf: (unit: string) => string | undefined,
  stopping: StopReason | undefined,
): string {
  const unitsOf = new Map<string, TimelineResponse["units"]>();
  for (const unit of timeline.units) {
    const script = starterOf(unit.unit_name);
    if (script === undefined) continue;
    const units = unitsOf.get(script);
    if (units) units.push(unit);
    else unitsOf.set(script, [unit]);
  }
  const rows = runs.map((run) => {
    const units = unitsOf.get(run.name) ?? [];
    const failed = units.filter((unit) => unit.status === "failed").map((unit) => unit.unit_name);
    const ended = scriptEnding(run, stopping);
    const outcome = failed.length > 0 && run.exitCode === 0 ? `ok, but ${failed.join(", ")} failed` : ended;
    const waited = units.reduce((sum, unit) => sum + (unit.wait_ms ?? 0), 0);
    return [
      run.name,
      truncate(units.map((unit) => unit.unit_name).join(", ") || "-", 30),
      outcome,
      units.length === 0 ? "-" : formatDuration(waited),
      formatDuration((run.endedAt ?? performance.now()) - run.startedAt),
    ];
  });
  return formatTable(["script", "units", "outcome", "waited", "took"], rows).replace(/ +$/gm, "");
}

/** The wall clock in ms, which `up` and its server share: the server's timeline is in it. */
function wallClock(): number {
  return performance.timeOrigin + performance.now();
}
