import { clientArgs, clientOf, rideOverIfAsked } from "./_args.ts";
import { reportOutcome } from "./_outcome.ts";
import { defineCommand } from "./_command.ts";
import { failedLine } from "../render/text.ts";
import { print, printError } from "./_output.ts";
import { refusedAs, unitArguments } from "./_units.ts";

export default defineCommand({
  meta: { name: "fail" },
  args: {
    unit: { type: "positional", description: "The unit that failed" },
    reason: { type: "string", valueHint: "TEXT", description: "Why it failed, shown to every unit it stops" },
    ...clientArgs,
  },
  usage: "<unit> [--reason TEXT]",
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required");
    const client = clientOf(args);
    const outcome = { rideOver: rideOverIfAsked(args, printError), timeoutMs: 0 };
    const failed = await refusedAs("fail unit failed", reportOutcome(client, unit!, String(args.reason ?? ""), outcome));
    await print(failedLine(failed));
  },
});
