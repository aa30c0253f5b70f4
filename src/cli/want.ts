import type { Requirement } from "../protocol/index.ts";
import { clientArgs, clientOf, requiresArgs, rideOverIfAsked } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { formatList } from "../render/text.ts";
import { print, printError } from "./_output.ts";
import { refusedAs, unitArguments } from "./_units.ts";

export default defineCommand({
  meta: { name: "want" },
  args: {
    unit: { type: "positional", description: "The unit that waits" },
    dependency: { type: "positional", description: "One or more units it waits for" },
    ...requiresArgs,
    ...clientArgs,
  },
  usage: "<unit> <dependency> [dependency...] [--requires success|completion|started]",
  helpUsage: "<UNIT> <DEPENDENCY> [DEPENDENCY...]",
  async run(args) {
    const [unit, ...dependencies] = unitArguments(
      args._,
      2,
      Infinity,
      "at least two arguments are required: unit and one or more depends-on",
    );
    const client = clientOf(args);
    // Declaring again what a server that went away mid-request had recorded changes nothing.
    const declared = await refusedAs(
      "declare dependency failed",
      client.riding(rideOverIfAsked(args, printError), Infinity, () => client.want(unit!, dependencies, args.requires as Requirement)),
    );
    await print(`Unit ${JSON.stringify(unit)} declared dependencies: ${formatList(declared.dependencies)}`);
  },
});
