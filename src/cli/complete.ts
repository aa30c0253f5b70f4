import { UnitsyncClient } from "../client/index.ts";
import { UnitsyncError, usageError } from "../protocol/index.ts";
import { clientArgs, clientOf, rideOverIfAsked, rideOverOf } from "./_args.ts";
import type { ParsedArgv } from "./_parser.ts";
import { reportOutcome } from "./_outcome.ts";
import { defineCommand } from "./_command.ts";
import { parseDuration } from "./_duration.ts";
import { failedLine } from "../render/text.ts";
import { print, printError } from "./_output.ts";
import { refusedAs, unitArguments } from "./_units.ts";

export default defineCommand({
  meta: { name: "complete" },
  args: {
    unit: { type: "positional", description: "The unit that finished its work" },
    "exit-code": {
      type: "string",
      valueHint: "N",
      description: "The work's exit status: not 0 marks the unit failed (trap 'unitsync complete u --exit-code $?' EXIT)",
    },
    when: {
      type: "string",
      valueHint: "PROBE",
      description: "Complete only once this passes: tcp:HOST:PORT, http(s)://URL, file:PATH or exec:COMMAND",
    },
    status: { type: "string", valueHint: "N", description: "With an http(s) probe: the status that passes (default: any 2xx)" },
    timeout: {
      type: "string",
      valueHint: "DURATION",
      description: "With --when: how long to probe before the unit fails (default 5m; 0 probes for ever)",
    },
    ...clientArgs,
  },
  usage: "<unit> [--exit-code N | --when PROBE [--status N] [--timeout 5m]]",
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required");
    const client = clientOf(args);
    if (args.when !== undefined) return completeWhen(client, unit!, args);
    for (const flag of ["status", "timeout"]) {
      if (args[flag] !== undefined) throw usageError(`--${flag} goes with --when`);
    }
    const exitCode = parseExitCode(args["exit-code"]);
    const outcome = { rideOver: rideOverIfAsked(args, printError), timeoutMs: 0 };
    if (exitCode === 0) {
      await refusedAs("complete unit failed", reportOutcome(client, unit!, undefined, outcome));
      return void (await print("Success"));
    }
    const failed = await refusedAs("fail unit failed", reportOutcome(client, unit!, `exit code ${exitCode}`, outcome));
    await print(failedLine(failed));
  },
});

/** Probes until the probe passes, then completes the unit; fails the unit when it never does. */
async function completeWhen(client: UnitsyncClient, unit: string, args: Record<string, unknown>): Promise<number | void> {
  if (args["exit-code"] !== undefined) throw usageError("--exit-code and --when cannot go together");
  const { parseProbe, waitForProbe } = await import("../probe/probe.ts");
  const expectStatus = args.status === undefined ? undefined : parseHttpStatus(String(args.status));
  const probe = parseProbe(String(args.when), expectStatus);
  const timeoutMs = parseDuration(String(args.timeout ?? "5m"), "--timeout");
  // Refuse before probing, not after minutes of it: a unit that is not registered or has
  // already ended cannot complete, and asking the server says so without changing anything.
  const { status } = await client.unitStatus(unit);
  if (status === "not registered" || status === "completed" || status === "failed") {
    await refusedAs("complete unit failed", client.complete(unit));
  }
  // The server may be restarted while the probe runs: the outcome waits for it.
  const outcome = { rideOver: rideOverOf(args as ParsedArgv, printError), timeoutMs };
  try {
    const passed = await waitForProbe(probe, timeoutMs);
    await printError(`probe ${probe.spec} passed after ${passed.checks} checks in ${Math.round(passed.elapsedMs)} ms`);
  } catch (error) {
    if (!(error instanceof UnitsyncError)) throw error;
    await reportOutcome(client, unit, error.message, outcome);
    throw error;
  }
  await refusedAs("complete unit failed", reportOutcome(client, unit, undefined, outcome));
  await print("Success");
}

function parseExitCode(value: unknown): number {
  if (value === undefined) return 0;
  const text = String(value);
  if (!/^\d{1,3}$/.test(text) || Number(text) > 255) {
    throw usageError(`--exit-code must be a whole number from 0 to 255, not ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function parseHttpStatus(text: string): number {
  if (!/^[1-5]\d\d$/.test(text)) throw usageError(`--status must be an HTTP status from 100 to 599, not ${JSON.stringify(text)}`);
  return Number(text);
}
