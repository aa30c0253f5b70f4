import { print } from "../_output.ts";
import { asCoder, clientOf, CoderFailure, emptyNameFailure, socketPathOf, type CoderCommand } from "./_dialect.ts";

export default {
  usage: "complete <unit>",
  description: "Mark a unit completed, releasing the units that wait for it",
  args: {},
  async run(args) {
    if (args._.length !== 1) throw new CoderFailure("exactly one unit name is required");
    const unit = args._[0]!;
    if (unit === "") throw emptyNameFailure("complete");
    await asCoder(() => clientOf(args).complete(unit), "complete", unit, socketPathOf(args));
    await print("Success");
  },
} satisfies CoderCommand;
