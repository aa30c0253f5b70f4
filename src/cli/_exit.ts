import type { ErrorCode } from "../protocol/index.ts";
import type { StartupOutcome } from "../supervisor/supervisor.ts";

/** The exit codes of every client command (DESIGN.md); this is the only place codes map to them. */
export const EXIT = {
  ok: 0,
  refused: 1,
  usage: 2,
  dependencyFailed: 3,
  timeout: 4,
  unreachable: 5,
  /** The reader of stdout went away (EPIPE): 128 + SIGPIPE, what a shell shows for a Unix tool that SIGPIPE ended. */
  outputClosed: 141,
  /** As a shell reports them: a command that is there but cannot run, one that is not there, SIGINT. */
  cannotExecute: 126,
  commandNotFound: 127,
  interrupted: 130,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case "usage":
    case "invalid_name": // a bad unit name is a bad argument
    case "is_target": // a target named where a unit a script drives belongs: a mistake in the script, never transient
      return EXIT.usage;
    case "dependency_failed":
      return EXIT.dependencyFailed;
    case "timeout":
      return EXIT.timeout;
    case "server_unreachable":
    case "server_closing":
    case "unexpected_answer": // whatever answers there does not speak unitsync's protocol
      return EXIT.unreachable;
    default:
      return EXIT.refused;
  }
}

/**
 * `up`: 130 when interrupted (as a shell reports SIGINT), 4 for its time limit, 5 when its
 * server died and could not be started again, 1 for a deadlock or any failure.
 */
export function exitCodeForStartup({ stopped, scriptsFailed, unitsFailed }: StartupOutcome): number {
  if (stopped === "interrupted") return EXIT.interrupted;
  if (stopped === "timeout") return EXIT.timeout;
  if (stopped === "server") return EXIT.unreachable;
  return stopped === "deadlock" || scriptsFailed || unitsFailed ? EXIT.refused : EXIT.ok;
}

/** `up --runs`: 130 when interrupted, 1 when a run was not ok or the start-up got slower than the gate allows. */
export function exitCodeForBenchmark({ interrupted, runsNotOk, slower }: { interrupted: boolean; runsNotOk: number; slower: boolean }): number {
  if (interrupted) return EXIT.interrupted;
  return runsNotOk > 0 || slower ? EXIT.refused : EXIT.ok;
}

/** `run`: the command's own status, or 128 + N for a command killed by signal N, as a shell gives it. */
export async function exitCodeForCommand(exitCode: number, signal: string | null): Promise<number> {
  if (!signal) return exitCode;
  const { constants } = await import("node:os");
  return 128 + (constants.signals[signal as keyof typeof constants.signals] ?? EXIT.refused);
}
