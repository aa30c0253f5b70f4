import type { Requirement } from "../../protocol/index.ts";
import { formatList } from "../../render/text.ts";
import { print } from "../_output.ts";
import { asCoder, clientOf, CoderFailure, emptyNameFailure, quoted, socketPathOf, type CoderCommand } from "./_dialect.ts";

export default {
  usage: "want <unit> <depends-on> [depends-on...]",
  description: "Declare that a unit waits for other units to complete before it starts",
  args: {
    requires: {
      type: "enum",
      options: ["success", "completion", "started"],
      valueHint: "success|completion|started",
      description: "unitsync's own: what each dependency must reach (default: completed, as Coder)",
    },
  },
  async run(args) {
    if (args._.length < 2) throw new CoderFailure("at least two arguments are required: unit and one or more depends-on");
    const [unit, ...dependencies] = args._ as [string, ...string[]];
    if (unit === "") throw emptyNameFailure("want");
    const client = clientOf(args);
    const requires = args.requires as Requirement | undefined;
    // One edge at a time, in order, as Coder declares them: a refusal leaves the earlier ones in place.
    for (const dependency of dependencies) {
      if (dependency === "") throw emptyNameFailure("want", "dependency");
      await asCoder(() => client.want(unit, [dependency], requires), "want", unit, socketPathOf(args), dependency);
    }
    await print(`Unit ${quoted(unit)} declared dependencies: ${formatList(dependencies)}`);
  },
} satisfies CoderCommand;
