import { askerOf, clientArgs, clientOf, reportEveryOf, rideOverOf, waitArgs } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { parseDuration } from "./_duration.ts";
import { formatList } from "../render/text.ts";
import { print, printError } from "./_output.ts";
import { refusedAs, unitArguments } from "./_units.ts";
import { waitingOutput } from "./_waiting.ts";

export default defineCommand({
  meta: { name: "start" },
  args: {
    unit: { type: "positional", description: "The unit to start" },
    ...waitArgs,
    ...clientArgs,
  },
  usage: "<unit> [--timeout 5m] [--report-every 30s]",
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required");
    const timeoutMs = parseDuration(String(args.timeout), "--timeout");
    const progressMs = reportEveryOf(args);
    const name = JSON.stringify(unit);
    const client = clientOf(args);
    const started = await refusedAs(
      "start unit failed",
      client.start(unit!, {
        timeoutMs,
        progressMs,
        onWaiting: waitingOutput(unit!, print, progressMs > 0),
        asker: askerOf(),
        rideOver: rideOverOf(args, printError),
      }),
    );
    if (started.waited_for.length > 0) {
      await print(`Unit ${name} finished waiting for dependencies: ${formatList(started.waited_for)}`);
    } else if (started.dependencies.length > 0) {
      await print(`Unit ${name} started immediately, dependencies already satisfied: ${formatList(started.dependencies)}`);
    } else {
      await print(`Unit ${name} started with no dependencies`);
    }
  },
});
