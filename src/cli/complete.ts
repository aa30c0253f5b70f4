import { UnitsyncClient } from "../client/index.ts";
import { socketArgs, socketPathOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { failedLine, print } from "./_output.ts";
import { usageError } from "./_parser.ts";
import { refusedAs, unitArguments } from "./_units.ts";

export default defineCommand({
  meta: { name: "complete", description: "Mark a unit completed (or failed, by exit code), releasing the units that wait for it" },
  args: {
    unit: { type: "positional", description: "The unit that finished its work" },
    "exit-code": {
      type: "string",
      valueHint: "N",
      description: "The work's exit status: not 0 marks the unit failed (trap 'unitsync complete u --exit-code $?' EXIT)",
    },
    ...socketArgs,
  },
  usage: "<unit> [--exit-code N]",
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required");
    const exitCode = parseExitCode(args["exit-code"]);
    const client = new UnitsyncClient(socketPathOf(args).path);
    if (exitCode === 0) {
      await refusedAs("complete unit failed", client.complete(unit!));
      return void (await print("Success"));
    }
    const failed = await refusedAs("fail unit failed", client.fail(unit!, `exit code ${exitCode}`));
    await print(failedLine(failed));
  },
});

function parseExitCode(value: unknown): number {
  if (value === undefined) return 0;
  const text = String(value);
  if (!/^\d{1,3}$/.test(text) || Number(text) > 255) {
    throw usageError(`--exit-code must be a whole number from 0 to 255, not ${JSON.stringify(text)}`);
  }
  return Number(text);
}
