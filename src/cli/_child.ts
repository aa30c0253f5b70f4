import { exitCodeForCommand } from "./_exit.ts";
import { isTerminal } from "../render/terminal.ts";

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** How a command `runChild` ran ended: its status as a shell gives it, and what to record. */
export interface ChildOutcome {
  /** The exit code, or 128 + N after signal N. */
  status: number;
  exitCode: number;
  signal: string | null;
  /** A signal was forwarded to the command: we were told to stop, so nothing should wait after it. */
  stopped: boolean;
}

/**
 * The executable for `command`'s first word, or why it cannot run: like a shell, 126 for a
 * file that is there but cannot be run, 127 for nothing there.
 */
export async function findExecutable(program: string): Promise<{ path: string } | { reason: string; status: 126 | 127 }> {
  const path = Bun.which(program);
  if (path) return { path };
  const present = program.includes("/") && (await Bun.file(program).exists());
  return present ? { reason: `permission denied: ${program}`, status: 126 } : { reason: `command not found: ${program}`, status: 127 };
}

/**
 * Runs `command` with this process's stdin, stdout, stderr and `env` (its own by default), forwarding
 * SIGINT, SIGTERM and SIGHUP to it, and waits for it to end.
 */
export async function runChild(executable: string, command: readonly string[], env: Record<string, string | undefined> = process.env): Promise<ChildOutcome> {
  // Handlers go in before the spawn: a signal in between would otherwise kill us by
  // default and orphan the command. Signals that arrive before the child exists are
  // delivered to it right after.
  let child: ReturnType<typeof Bun.spawn> | undefined;
  const early: NodeJS.Signals[] = [];
  let stopped = false;
  const forward = (signal: NodeJS.Signals) => {
    stopped = true;
    return child ? child.kill(signal) : early.push(signal);
  };
  const onTerminal = isTerminal(0);
  const forwarded = FORWARDED_SIGNALS.filter((signal) => signal !== "SIGINT" || !onTerminal);
  for (const signal of forwarded) process.on(signal, forward);
  // On a terminal, Ctrl-C reaches the whole foreground group, the command included; we
  // must neither die of it nor forward a second copy (some programs force-quit on two).
  const ignoreTerminalInterrupt = () => {};
  if (onTerminal) process.on("SIGINT", ignoreTerminalInterrupt);
  child = Bun.spawn([executable, ...command.slice(1)], {
    env,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
    argv0: command[0],
  });
  for (const signal of early) child.kill(signal);
  const exitCode = await child.exited;
  for (const signal of forwarded) process.off(signal, forward);
  process.off("SIGINT", ignoreTerminalInterrupt);
  const signal = child.signalCode === null ? null : String(child.signalCode);
  return { status: await exitCodeForCommand(exitCode, signal), exitCode, signal, stopped };
}
