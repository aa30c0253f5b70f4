import { UnitsyncError, usageError, type Requirement } from "../protocol/index.ts";
import { askerOf, clientArgs, clientOf, reportEveryOf, requiresArgs, rideOverOf, waitArgs } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { parseDuration } from "./_duration.ts";
import { exitCodeFor } from "./_exit.ts";
import { findExecutable, runChild } from "./_child.ts";
import type { Held, StartedLine } from "../client/index.ts";
import { formatList } from "../render/text.ts";
import { printError } from "./_output.ts";
import { reportOutcome } from "./_outcome.ts";
import { unitArguments } from "./_units.ts";
import { lockArgument, sayLockWait, waitingOutput } from "./_waiting.ts";

export default defineCommand({
  meta: { name: "run" },
  args: {
    unit: { type: "positional", description: "The unit the command is" },
    after: { type: "string", valueHint: "DEP", description: "A dependency to wait for; repeat for several" },
    lock: { type: "string", valueHint: "NAME", description: "Hold this lock while the command runs, taken once the dependencies are satisfied" },
    ...requiresArgs,
    ...waitArgs,
    ...clientArgs,
  },
  usage: "<unit> [--after DEP]... [--requires R] [--lock NAME] [--timeout D] [--report-every D] -- CMD [ARGS...]",
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

    const lock = lockArgument(args.lock);
    const rideOver = rideOverOf(args, printError);
    const endsAt = timeoutMs > 0 ? performance.now() + timeoutMs : Infinity;
    if (after.length > 0) await client.riding(rideOver, endsAt, () => client.want(unit!, after, args.requires as Requirement));
    let held: Held<StartedLine> | undefined;
    let started: StartedLine;
    try {
      // unitsync's own lines go to stderr here: stdout belongs to the command.
      const waiting = waitingOutput(unit!, printError, progressMs > 0);
      const options = { timeoutMs, progressMs, asker: askerOf() };
      // A lock does not ride over a restart: the server that held it is gone, and with it the lock.
      if (lock === undefined) started = await client.start(unit!, { ...options, onWaiting: waiting, rideOver });
      else {
        held = await client.startHoldingLock(unit!, lock, { ...options, onWaiting: (line) => (line.lock ? sayLockWait(`Unit ${name}`, line.lock) : waiting(line)) });
        started = held.line;
      }
    } catch (error) {
      if (error instanceof UnitsyncError && error.code === "timeout") {
        const pending = (await client.unitStatus(unit!)).dependencies
          .filter((d) => !d.is_satisfied)
          .map((d) => d.depends_on)
          .sort();
        const reason = pending.length === 0 && lock !== undefined ? `timed out waiting for lock ${JSON.stringify(lock)}` : `timed out waiting for dependencies: ${formatList(pending)}`;
        await client.fail(unit!, reason);
      }
      throw error;
    }

    const found = await findExecutable(command[0]!);
    if (!("path" in found)) {
      await held?.release();
      await client.fail(unit!, found.reason);
      await printError(`error: ${found.reason}`);
      return found.status;
    }
    // An instrumented command nests its spans under its unit's span (W3C trace context).
    const env = { ...process.env };
    if (started.traceparent !== undefined) {
      env.TRACEPARENT = started.traceparent;
      delete env.TRACESTATE;
    }
    const { status, exitCode, signal, stopped } = await runChild(found.path, command, env);
    // The lock guarded the command, not the outcome: the next holder goes on at once.
    await held?.release();
    try {
      // A server that went away meanwhile is waited for (as long as --timeout, or
      // --wait-for-server, allows) and told then: its journal kept the unit started.
      // Told to stop, run reports once and goes: it waits for no server to come back.
      const outcome = { rideOver: stopped ? undefined : rideOver, timeoutMs };
      await reportOutcome(client, unit!, status === 0 ? undefined : signal ? `killed by ${signal}` : `exit code ${exitCode}`, outcome);
    } catch (error) {
      // The command ran; its status is the answer even when the outcome cannot be recorded.
      if (!(error instanceof UnitsyncError)) throw error;
      await printError(`error: could not record the outcome of unit ${name}: ${error.message}`);
      return status === 0 ? exitCodeFor(error.code) : status;
    }
    return status;
  },
});

