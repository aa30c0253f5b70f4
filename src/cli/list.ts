import { clientArgs, clientOf, outputArgs } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { formatJson, formatTable } from "../render/text.ts";
import { print } from "./_output.ts";
import { usageError } from "../protocol/index.ts";

/**
 * Widest a column is padded to: the longest unit name (255 bytes), so that only a reason
 * longer than that overflows, in REASON, the last column, instead of padding every row.
 */
const WIDEST_COLUMN = 255;

export default defineCommand({
  meta: { name: "list" },
  args: { ...outputArgs, ...clientArgs },
  usage: "[-o table|json]",
  async run(args) {
    if (args._.length > 0) throw usageError("list takes no arguments");
    const units = await clientOf(args).listUnits();
    if (args.output === "json") return void (await print(formatJson(units)));
    if (units.length === 0) return void (await print("No units registered"));
    // REASON follows Coder's columns, and only once something failed.
    const withReason = units.some((u) => u.reason !== undefined);
    await print(
      formatTable(
        ["unit", "status", "ready", ...(withReason ? ["reason"] : [])],
        units.map((u) => [u.unit_name, u.status, String(u.is_ready), ...(withReason ? [u.reason === undefined ? "" : u.reason || "no reason given"] : [])]),
        WIDEST_COLUMN,
      ),
    );
  },
});
