import { coderListJson, coderListTable, LIST_COLUMNS } from "../../render/coder.ts";
import { print } from "../_output.ts";
import { asCoder, chosenColumns, clientOf, socketPathOf, tableArgs, type CoderCommand } from "./_dialect.ts";

export default {
  usage: "list [flags]",
  description: "List every registered unit with its status and whether it may start",
  args: tableArgs(LIST_COLUMNS),
  async run(args) {
    const columns = chosenColumns(args, LIST_COLUMNS);
    const units = await asCoder(() => clientOf(args).listUnits(), "list", "", socketPathOf(args));
    await print(args.output === "json" ? coderListJson(units) : coderListTable(units, columns));
  },
} satisfies CoderCommand;
