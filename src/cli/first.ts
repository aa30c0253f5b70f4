import { clientArgs, clientOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { print } from "./_output.ts";
import { refusedAs, unitArguments } from "./_units.ts";

export default defineCommand({
  meta: { name: "first" },
  args: {
    unit: { type: "positional", description: "The unit every other unit, registered now or later, waits for" },
    ...clientArgs,
  },
  usage: "<unit>",
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required");
    const { held, running } = await refusedAs("declare first unit failed", clientOf(args).first(unit!));
    const units = (n: number) => `${n} ${n === 1 ? "unit" : "units"}`;
    const left = running === 0 ? "" : `; ${units(running)} already running ${running === 1 ? "was" : "were"} left alone`;
    await print(`Unit ${JSON.stringify(unit)} runs first: ${units(held)} ${held === 1 ? "waits" : "wait"} for it${left}`);
  },
});
