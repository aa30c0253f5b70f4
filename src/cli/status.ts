import { chosenColumns, clientArgs, clientOf, columnArgs, outputArgs } from "./_args.ts";
import type { UnitStatusResponse } from "../protocol/index.ts";
import { defineCommand } from "./_command.ts";
import { formatJson, formatTable } from "../render/text.ts";
import { print } from "./_output.ts";
import { unitArguments } from "./_units.ts";

const CELLS: Record<string, (dependency: UnitStatusResponse["dependencies"][number]) => string> = {
  "depends on": (d) => d.depends_on,
  "required status": (d) => d.required_status,
  "current status": (d) => d.current_status,
  satisfied: (d) => String(d.is_satisfied),
  requires: (d) => d.requires,
  edge: (d) => (d.implicit ? `implicit: ${d.implicit}` : "declared"),
};

export default defineCommand({
  meta: { name: "status" },
  args: {
    unit: { type: "positional", description: "The unit to show" },
    ...outputArgs,
    ...columnArgs(Object.keys(CELLS)),
    ...clientArgs,
  },
  usage: "<unit> [-o table|json]",
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required");
    const chosen = chosenColumns(args, Object.keys(CELLS));
    const status = await clientOf(args).unitStatus(unit!);
    if (args.output === "json") return void (await print(formatJson({ ...status, unit_name: unit })));
    const dependencies = [...status.dependencies].sort((a, b) => (a.depends_on < b.depends_on ? -1 : 1));
    // Coder's columns first; REQUIRES only when some edge asks for more than success, so
    // Coder's output stays byte for byte the same where its semantics apply.
    const withRequires = dependencies.some((d) => d.requires !== "success");
    // EDGE says which edges nobody declared: those `first` added. Only when there is one.
    const withEdge = dependencies.some((d) => d.implicit !== undefined);
    const columns = chosen ?? [
      "depends on",
      "required status",
      "current status",
      "satisfied",
      ...(withRequires ? ["requires"] : []),
      ...(withEdge ? ["edge"] : []),
    ];
    const table =
      dependencies.length === 0 ? "No dependencies found\n" : formatTable(columns, dependencies.map((d) => columns.map((column) => CELLS[column]!(d))));
    const reason = status.reason === undefined ? "" : `Reason: ${status.reason || "no reason given"}\n`;
    const kind = status.target ? "Kind: target\n" : status.first ? "Kind: first\n" : "";
    const heading = status.target ? "Members" : "Dependencies";
    await print(`Unit: ${unit}\nStatus: ${status.status}\nReady: ${status.is_ready}\n${kind}${reason}\n${heading}:\n${table}`);
  },
});
