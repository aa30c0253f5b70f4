import { UnitsyncError, usageError, type Requirement } from "../protocol/index.ts";
import { askerOf, clientArgs, clientOf, reportEveryOf, requiresArgs, rideOverOf, waitArgs } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { parseDuration } from "./_duration.ts";
import { EXIT, exitCodeFor, exitCodeForCommand } from "./_exit.ts";
import { formatList } from "../render/text.ts";
import { printError } from "./_output.ts";
import { isTerminal } from "../render/terminal.ts";
import { reportOutcome } from "./_outcome.ts";
import { unitArguments } from "./_units.ts";
import { waitingOutput } from "./_waiting.ts";

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export default defineCommand({
  meta: { name: "run" },
  args: {
    unit: { type: "positional", description: "The unit the command is" },
    after: { type: "string", valueHint: "DEP", description: "A dependency to wait for; repeat for several" },
    ...requiresArgs,
    ...waitArgs,
    ...clientArgs,
  },
  usage: "<unit> [--after DEP]... [--requires R] [--timeout D] [--report-every D] -- CMD [ARGS...]",
  helpUsage: "<UNIT> -- CMD [ARGS...]",
  repeatable: ["after"],
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required before --");
    const command = args.rest;
    if (command === undefined) throw usageError("the command to run goes after --");
    if (command.length === 0 || command[0] === "") throw usageError("no command after --");
    const timeoutMs = parseDuration(String(args.timeout), "--timeout");
    const progressMs = reportEveryOf(args);
    const after = (args.after as string[] | undefined) ?? [];
    if (after.length === 0 && args.requires !== "success") throw usageError("--requires goes with --after");
    const client = clientOf(args);
    const name = JSON.stringify(unit);

    const rideOver = rideOverOf(args, printError);
    const endsAt = timeoutMs > 0 ? performance.now() + timeoutMs : Infinity;
    if (after.length > 0) await client.riding(rideOver, endsAt, () => client.want(unit!, after, args.requires as Requirement));
    let started: Awaited<ReturnType<typeof client.start>>;
    try {
      // unitsync's own lines go to stderr here: stdout belongs to the command.
      started = await client.start(unit!, {
        timeoutMs,
        progressMs,
        onWaiting: waitingOutput(unit!, printError, progressMs > 0),
        asker: askerOf(),
        rideOver,
      });
    } catch (error) {
      if (error instanceof UnitsyncError && error.code === "timeout") {
        const pending = (await client.unitStatus(unit!)).dependencies
          .filter((d) => !d.is_satisfied)
          .map((d) => d.depends_on)
          .sort();
        await client.fail(unit!, `timed out waiting for dependencies: ${formatList(pending)}`);
      }
      throw error;
    }

    const executable = Bun.which(command[0]!);
    if (!executable) {
      // Like a shell: 126 for a file that is there but cannot be run, 127 for nothing there.
      const present = command[0]!.includes("/") && (await Bun.file(command[0]!).exists());
      const reason = present ? `permission denied: ${command[0]}` : `command not found: ${command[0]}`;
      await client.fail(unit!, reason);
      await printError(`error: ${reason}`);
      return present ? EXIT.cannotExecute : EXIT.commandNotFound;
    }
    // Handlers go in before the spawn: a signal in between would otherwise kill run by
    // default, orphan the command and leave the unit started. Signals that arrive before
    // the child exists are delivered to it right after.
    let child: ReturnType<typeof Bun.spawn> | undefined;
    const early: NodeJS.Signals[] = [];
    const forward = (signal: NodeJS.Signals) => (child ? child.kill(signal) : early.push(signal));
    const onTerminal = isTerminal(0);
    const forwarded = FORWARDED_SIGNALS.filter((signal) => signal !== "SIGINT" || !onTerminal);
    for (const signal of forwarded) process.on(signal, forward);
    // On a terminal, Ctrl-C reaches the whole foreground group, the command included; run
    // must neither die of it nor forward a second copy (some programs force-quit on two).
    const ignoreTerminalInterrupt = () => {};
    if (onTerminal) process.on("SIGINT", ignoreTerminalInterrupt);
    // An instrumented command nests its spans under its unit's span (W3C trace context).
    const env = { ...process.env };
    if (started.traceparent !== undefined) {
      env.TRACEPARENT = started.traceparent;
      delete env.TRACESTATE;
    }
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

    const signal = child.signalCode;
    const status = await exitCodeForCommand(exitCode, signal === null ? null : String(signal));
    try {
      // A server that went away meanwhile is waited for (as long as --timeout, or
      // --wait-for-server, allows) and told then: its journal kept the unit started.
      await reportOutcome(client, unit!, status === 0 ? undefined : signal ? `killed by ${signal}` : `exit code ${exitCode}`, { rideOver, timeoutMs });
    } catch (error) {
      // The command ran; its status is the answer even when the outcome cannot be recorded.
      if (!(error instanceof UnitsyncError)) throw error;
      await printError(`error: could not record the outcome of unit ${name}: ${error.message}`);
      return status === 0 ? exitCodeFor(error.code) : status;
    }
    return status;
  },
});

