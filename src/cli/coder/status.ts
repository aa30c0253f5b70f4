import { coderStatusJson, coderStatusTable, STATUS_COLUMNS } from "../../render/coder.ts";
import { print } from "../_output.ts";
import { asCoder, chosenColumns, clientOf, CoderFailure, emptyNameFailure, socketPathOf, tableArgs, type CoderCommand } from "./_dialect.ts";

export default {
  usage: "status [flags] <unit>",
  description: "Show a unit's status, whether it may start, and the state of each dependency",
  args: tableArgs(STATUS_COLUMNS),
  async run(args) {
    if (args._.length !== 1) throw new CoderFailure("exactly one unit name is required");
    const unit = args._[0]!;
    if (unit === "") throw emptyNameFailure("status");
    const columns = chosenColumns(args, STATUS_COLUMNS);
    const status = await asCoder(() => clientOf(args).unitStatus(unit), "status", unit, socketPathOf(args));
    await print(args.output === "json" ? coderStatusJson(unit, status) : coderStatusTable(unit, status, columns));
  },
} satisfies CoderCommand;
