import { chosenColumns, clientArgs, clientOf, columnArgs, outputArgs } from "./_args.ts";
import type { UnitListEntry } from "../protocol/index.ts";
import { defineCommand } from "./_command.ts";
import { formatJson, formatTable } from "../render/text.ts";
import { print } from "./_output.ts";
import { usageError } from "../protocol/index.ts";

/**
 * Widest a column is padded to: the longest unit name (255 bytes), so that only a reason
 * longer than that overflows, in REASON, the last column, instead of padding every row.
 */
const WIDEST_COLUMN = 255;

const CELLS: Record<string, (unit: UnitListEntry) => string> = {
  unit: (u) => u.unit_name,
  status: (u) => u.status,
  ready: (u) => String(u.is_ready),
  kind: (u) => (u.target ? "target" : u.first ? "first" : "unit"),
  reason: (u) => (u.reason === undefined ? "" : u.reason || "no reason given"),
};

export default defineCommand({
  meta: { name: "list" },
  args: { ...outputArgs, ...columnArgs(Object.keys(CELLS)), ...clientArgs },
  usage: "[-o table|json]",
  async run(args) {
    if (args._.length > 0) throw usageError("list takes no arguments");
    const chosen = chosenColumns(args, Object.keys(CELLS));
    const units = await clientOf(args).listUnits();
    if (args.output === "json") return void (await print(formatJson(units)));
    if (units.length === 0) return void (await print("No units registered"));
    // REASON follows Coder's columns, and only once something failed.
    // KIND only once there is a target or a first unit, so Coder's table is unchanged otherwise.
    const withKind = units.some((u) => u.target || u.first);
    const withReason = units.some((u) => u.reason !== undefined);
    const columns = chosen ?? ["unit", "status", "ready", ...(withKind ? ["kind"] : []), ...(withReason ? ["reason"] : [])];
    await print(formatTable(columns, units.map((u) => columns.map((column) => CELLS[column]!(u))), WIDEST_COLUMN));
  },
});
