import { UnitsyncClient } from "../client/index.ts";
import { socketArgs, socketPathOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { parseDuration } from "./_duration.ts";
import { formatList, print } from "./_output.ts";
import { refusedAs, unitArguments } from "./_units.ts";

export default defineCommand({
  meta: {
    name: "start",
    description: "Wait until a unit's dependencies are satisfied, then mark it started",
  },
  args: {
    unit: { type: "positional", description: "The unit to start" },
    timeout: {
      type: "string",
      default: "5m",
      valueHint: "DURATION",
      description: "Longest wait for dependencies, e.g. 30s, 5m, 1h; 0 waits for ever",
    },
    ...socketArgs,
  },
  usage: "<unit> [--timeout 5m]",
  async run(args) {
    const [unit] = unitArguments(args._, 1, 1, "exactly one unit name is required");
    const timeoutMs = parseDuration(String(args.timeout), "--timeout");
    const name = JSON.stringify(unit);
    const client = new UnitsyncClient(socketPathOf(args).path);
    let waited = false;
    const started = await refusedAs(
      "start unit failed",
      client.start(unit!, timeoutMs, (line) => {
        const again = waited;
        waited = true;
        return print(
          `Unit ${name} is ${again ? "still " : ""}waiting for dependencies to be satisfied: ${formatList(line.unsatisfied)}`,
        );
      }),
    );
    if (started.waited_for.length > 0) {
      await print(`Unit ${name} finished waiting for dependencies: ${formatList(started.waited_for)}`);
    } else if (started.dependencies.length > 0) {
      await print(`Unit ${name} started immediately, dependencies already satisfied: ${formatList(started.dependencies)}`);
    } else {
      await print(`Unit ${name} started with no dependencies`);
    }
  },
});
