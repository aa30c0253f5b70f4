import { clientArgs, clientOf, outputArgs } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { formatJson, formatTable } from "../render/text.ts";
import { print } from "./_output.ts";
import { unitArguments } from "./_units.ts";

export default defineCommand({
  meta: { name: "status" },
  args: {
    unit: { type: "positional", description: "The unit to show" },
    ...outputArgs,
    ...clientArgs,
  },
  usage: "<unit> [-o table|json]",
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required");
    const status = await clientOf(args).unitStatus(unit!);
    if (args.output === "json") return void (await print(formatJson({ ...status, unit_name: unit })));
    const dependencies = [...status.dependencies].sort((a, b) => (a.depends_on < b.depends_on ? -1 : 1));
    // Coder's columns first; REQUIRES only when some edge asks for more than success, so
    // Coder's output stays byte for byte the same where its semantics apply.
    const withRequires = dependencies.some((d) => d.requires !== "success");
    const table =
      dependencies.length === 0
        ? "No dependencies found\n"
        : formatTable(
            ["depends on", "required status", "current status", "satisfied", ...(withRequires ? ["requires"] : [])],
            dependencies.map((d) => [
              d.depends_on,
              d.required_status,
              d.current_status,
              String(d.is_satisfied),
              ...(withRequires ? [d.requires] : []),
            ]),
          );
    const reason = status.reason === undefined ? "" : `Reason: ${status.reason || "no reason given"}\n`;
    await print(`Unit: ${unit}\nStatus: ${status.status}\nReady: ${status.is_ready}\n${reason}\nDependencies:\n${table}`);
  },
});
