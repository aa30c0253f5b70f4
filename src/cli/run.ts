import { UnitsyncClient } from "../client/index.ts";
import { UnitsyncError, type Requirement } from "../protocol/index.ts";
import { requiresArgs, socketArgs, socketPathOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { parseDuration } from "./_duration.ts";
import { EXIT, exitCodeFor } from "./_exit.ts";
import { formatList, printError } from "./_output.ts";
import { usageError } from "./_parser.ts";
import { unitArguments } from "./_units.ts";

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export default defineCommand({
  meta: {
    name: "run",
    description: "Declare dependencies, wait for them, run a command, and record its outcome: the whole protocol in one line",
  },
  args: {
    unit: { type: "positional", description: "The unit the command is" },
    after: { type: "string", valueHint: "DEP", description: "A dependency to wait for; repeat for several" },
    ...requiresArgs,
    timeout: {
      type: "string",
      default: "5m",
      valueHint: "DURATION",
      description: "Longest wait for dependencies; 0 waits for ever",
    },
    ...socketArgs,
  },
  usage: "<unit> [--after DEP]... [--requires R] [--timeout D] -- CMD [ARGS...]",
  repeatable: ["after"],
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required before --");
    const command = args.rest;
    if (command === undefined) throw usageError("the command to run goes after --");
    if (command.length === 0 || command[0] === "") throw usageError("no command after --");
    const timeoutMs = parseDuration(String(args.timeout), "--timeout");
    const after = (args.after as string[] | undefined) ?? [];
    const client = new UnitsyncClient(socketPathOf(args).path);
    const name = JSON.stringify(unit);

    // unitsync's own lines go to stderr: stdout belongs to the command.
    if (after.length > 0) await client.want(unit!, after, args.requires as Requirement);
    try {
      await client.start(unit!, timeoutMs, (line) =>
        printError(`Unit ${name} is waiting for dependencies to be satisfied: ${formatList(line.unsatisfied)}`),
      );
    } catch (error) {
      if (error instanceof UnitsyncError && error.code === "timeout") {
        const pending = (await client.unitStatus(unit!)).dependencies.filter((d) => !d.is_satisfied).map((d) => d.depends_on);
        await client.fail(unit!, `timed out waiting for dependencies: ${formatList(pending)}`);
      }
      throw error;
    }

    const executable = Bun.which(command[0]!);
    if (!executable) {
      await client.fail(unit!, `command not found: ${command[0]}`);
      await printError(`error: command not found: ${command[0]}`);
      return 127;
    }
    const child = Bun.spawn([executable, ...command.slice(1)], {
      stdin: "inherit",
      stdout: "inherit",
      stderr: "inherit",
      argv0: command[0],
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
    const exitCode = await child.exited;
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);

    const signal = child.signalCode;
    const status = signal ? 128 + (await signalNumber(String(signal))) : exitCode;
    try {
      if (status === 0) await client.complete(unit!);
      else await client.fail(unit!, signal ? `killed by ${signal}` : `exit code ${exitCode}`);
    } catch (error) {
      // The command ran; its status is the answer even when the outcome cannot be recorded.
      if (!(error instanceof UnitsyncError)) throw error;
      await printError(`error: could not record the outcome of unit ${name}: ${error.message}`);
      return status === 0 ? exitCodeFor(error.code) : status;
    }
    return status;
  },
});

async function signalNumber(signal: string): Promise<number> {
  const { constants } = await import("node:os");
  return constants.signals[signal as keyof typeof constants.signals] ?? EXIT.refused;
}
