import { UnitsyncClient } from "../client/index.ts";
import { socketArgs, socketPathOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { print } from "./_output.ts";
import { refusedAs, unitArguments } from "./_units.ts";

export default defineCommand({
  meta: { name: "complete", description: "Mark a unit completed, releasing the units that wait for it" },
  args: {
    unit: { type: "positional", description: "The unit that finished its work" },
    ...socketArgs,
  },
  usage: "<unit>",
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required");
    const client = new UnitsyncClient(socketPathOf(args).path);
    await refusedAs("complete unit failed", client.complete(unit!));
    await print("Success");
  },
});
