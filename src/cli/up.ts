import { readLines, UnitsyncClient } from "../client/index.ts";
import type { TimelineResponse } from "../protocol/index.ts";
import { startServer, type RunningServer } from "../server/index.ts";
import { socketArgs } from "./_args.ts";
import { paletteFor } from "../render/color.ts";
import { defineCommand } from "./_command.ts";
import { everyScriptBlocked, explainDeadlock, type RunningScript } from "./_deadlock.ts";
import { formatDuration } from "../render/duration.ts";
import { parseDuration } from "./_duration.ts";
import { EXIT } from "./_exit.ts";
import { formatTable } from "../render/text.ts";
import { usageError } from "../protocol/index.ts";
import { findScripts, prefixer, type Script } from "./_scripts.ts";
import { StatusArea, statusLines, type UnitView } from "./_status-area.ts";
import { formatTimeline, outputColumns, truncate } from "../render/timeline.ts";

/** How long a stopped script gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 3_000;

type StopReason = "deadlock" | "timeout" | "interrupted";

interface Run extends RunningScript {
  script: Script;
  process: ReturnType<typeof Bun.spawn>;
  startedAt: number;
  endedAt?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Signalled by `up` itself, for `stopping`'s reason. */
  stopped?: boolean;
  output: Promise<void>;
}

export default defineCommand({
  meta: {
    name: "up",
    description: "Run a workspace's start-up scripts in parallel, as the agent would, and report order, failures, deadlocks and timing",
  },
  args: {
    scripts: { type: "positional", description: "Script files, or directories whose executable files run (in name order)" },
    timeout: {
      type: "string",
      default: "10m",
      valueHint: "DURATION",
      description: "Stop every script when start-up takes longer than this; 0 for no limit",
    },
    timeline: { type: "string", valueHint: "FILE.svg", description: "Also save the timeline as an SVG picture" },
    ...socketArgs,
  },
  usage: "[--timeout 10m] [--timeline FILE.svg] SCRIPT|DIR...",
  async run(args) {
    if (args._.length === 0) throw usageError("name at least one script or directory of scripts");
    const scripts = await findScripts(args._);
    const timeoutMs = parseDuration(String(args.timeout), "--timeout", "means no limit");
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { dirname, join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const privateDir = typeof args["socket-path"] === "string" ? undefined : mkdtempSync(join(tmpdir(), "unitsync-up-"));
    const socketPath = privateDir ? join(privateDir, "unitsync.sock") : String(args["socket-path"]);
    const server = await startServer({ socketPath });

    const out = paletteFor(process.stdout);
    const prefix = prefixer([...scripts.map((s) => s.name), "up"], out);
    const began = performance.now();
    const elapsed = () => formatDuration(performance.now() - began);
    // On a terminal, a live view of the units stays below the scripts' lines.
    const live =
      process.stdout.isTTY && process.env.TERM !== "dumb"
        ? new StatusArea(process.stdout, () => statusLines(unitViews(server), server.clock(), performance.now() - began, out))
        : undefined;
    const emit = (stream: NodeJS.WriteStream, text: string) => (live ? live.write(stream, text) : void stream.write(text));
    const say = (text: string) => emit(process.stdout, `${prefix("up")}${text}\n`);
    const forward = async (from: ReadableStream<Uint8Array>, to: NodeJS.WriteStream, label: string) => {
      for await (const line of readLines(from)) emit(to, `${label}${line}\n`);
    };
    let refreshQueued = false;
    const refresh = () => {
      if (!live || refreshQueued) return;
      refreshQueued = true;
      setTimeout(() => {
        refreshQueued = false;
        live.refresh();
      }, 30);
    };
    const ticker = live ? setInterval(refresh, 250) : undefined;

    let stopping: StopReason | undefined;
    const runs: Run[] = [];
    const stopAll = (reason: StopReason) => {
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

    // Deadlock: checked whenever something changes, never on a timer; a finding is confirmed
    // by a second look a moment later, so a process between two states is not mistaken.
    let checking = false;
    let recheck = false;
    const checkDeadlock = async () => {
      if (checking) return void (recheck = true);
      checking = true;
      try {
        do {
          recheck = false;
          const running = () => runs.filter((run) => run.endedAt === undefined);
          if (stopping || !(await everyScriptBlocked(server, running()))) continue;
          await Bun.sleep(25);
          if (stopping || !(await everyScriptBlocked(server, running()))) continue;
          for (const line of explainDeadlock(server)) say(out.red(line));
          stopAll("deadlock");
        } while (recheck);
      } finally {
        checking = false;
      }
    };
    const unobserve = server.waiters.observe(() => void checkDeadlock());
    const unsubscribe = server.graph.subscribe(() => {
      void checkDeadlock();
      refresh();
    });

    const env = {
      ...(process.env as Record<string, string>),
      UNITSYNC_SOCKET_PATH: socketPath,
      // The scripts' own `unitsync` calls reach this binary, whatever else is on PATH.
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ""}`,
      // `up` explains a stuck start-up itself; the scripts' own reports only when asked for.
      UNITSYNC_REPORT_EVERY: process.env.UNITSYNC_REPORT_EVERY ?? "0",
    };
    say(`${scripts.length} scripts, server on ${socketPath}`);
    for (const script of scripts) {
      const child = Bun.spawn(script.command, {
        env: { ...env, UNITSYNC_SCRIPT: script.name },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        // Its own process group, so stopping it stops what it started too.
        detached: true,
      });
      const label = prefix(script.name);
      const output = Promise.all([
        forward(child.stdout, process.stdout, label),
        forward(child.stderr, process.stderr, label),
      ]).then(() => {});
      const run: Run = { name: script.name, pid: child.pid, script, process: child, startedAt: performance.now(), output };
      runs.push(run);
      void child.exited.then((exitCode) => {
        run.endedAt = performance.now();
        run.exitCode = exitCode;
        run.signal = child.signalCode === null ? null : String(child.signalCode);
        void checkDeadlock();
      });
    }
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
    // Whatever the scripts left running is stopped with them: `up` leaves nothing behind.
    await stopGroups(runs.map((run) => run.pid));
    clearInterval(ticker);
    live?.close();
    unobserve();
    unsubscribe();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);

    const timeline = await new UnitsyncClient(socketPath).timeline();
    const failedUnits = timeline.units.filter((unit) => unit.status === "failed");
    say(`all scripts ended after ${elapsed()}`);
    const starterOf = (unit: string) => server.waiters.starterOf(unit);
    process.stdout.write(`\n${summaryTable(runs, timeline, starterOf, stopping)}\n`);
    process.stdout.write(formatTimeline(timeline, out, outputColumns()));
    if (typeof args.timeline === "string") {
      const { timelineSvg } = await import("../render/timeline-svg.ts");
      await Bun.write(args.timeline, timelineSvg(timeline));
      say(`timeline saved to ${args.timeline}`);
    }
    await server.stop();
    if (privateDir) rmSync(privateDir, { recursive: true, force: true });

    const scriptsFailed = runs.some((run) => run.exitCode !== 0);
    if (stopping === "interrupted") return 130;
    if (stopping === "timeout") return EXIT.timeout;
    return stopping === "deadlock" || scriptsFailed || failedUnits.length > 0 ? EXIT.refused : EXIT.ok;
  },
});

/**
 * Ends every process left in `groups`: SIGTERM, then SIGKILL for what is still there after
 * the grace period. Returns once the groups are empty, so nothing outlives `up`.
 */
async function stopGroups(groups: readonly number[]): Promise<void> {
  const { liveGroups, readProcessTable } = await import("./_process-tree.ts");
  for (const group of groups) signalGroup(group, "SIGTERM");
  const deadline = performance.now() + STOP_GRACE_MS;
  for (let live = liveGroups(groups, await readProcessTable()); live.length > 0; live = liveGroups(live, await readProcessTable())) {
    if (performance.now() > deadline) for (const group of live) signalGroup(group, "SIGKILL");
    await Bun.sleep(10);
  }
}

/** Every registered unit as the live view shows it. */
function unitViews(server: RunningServer): UnitView[] {
  return server.graph.units().map((unit) => {
    const { registered, startRequested, started, ended } = unit.times;
    return {
      name: unit.name,
      status: unit.status,
      since: ended ?? started ?? startRequested ?? registered,
      startRequested: startRequested !== undefined,
      waitingFor: unit.status === "pending" ? server.graph.unsatisfiedOf(unit.name) : [],
      reason: unit.reason,
      ranMs: started !== undefined && ended !== undefined ? ended - started : undefined,
    };
  });
}

/** Signals a script's whole process group; one that is already gone is fine. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already exited.
  }
}

/** Per script: the units it started, how it ended, how long its units waited and it ran. */
function summaryTable(
  runs: readonly Run[],
  timeline: TimelineResponse,
  starterOf: (unit: string) => string | undefined,
  stopping: StopReason | undefined,
): string {
  const unitsOf = new Map<string, TimelineResponse["units"]>();
  for (const unit of timeline.units) {
    const script = starterOf(unit.unit_name);
    if (script !== undefined) unitsOf.set(script, [...(unitsOf.get(script) ?? []), unit]);
  }
  const rows = runs.map((run) => {
    const units = unitsOf.get(run.name) ?? [];
    const failed = units.filter((unit) => unit.status === "failed").map((unit) => unit.unit_name);
    const killed = run.signal ? (run.stopped ? `stopped (${stopping})` : `killed by ${run.signal}`) : undefined;
    const ended = killed ?? (run.exitCode === 0 ? "ok" : `exit ${run.exitCode}`);
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
  return formatTable(["script", "units", "outcome", "waited", "ran"], rows).replace(/ +$/gm, "");
}
