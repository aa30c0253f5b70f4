import { askerOf, clientArgs, clientOf } from "./_args.ts";
import { findExecutable, runChild } from "./_child.ts";
import { defineCommand } from "./_command.ts";
import { parseDuration } from "./_duration.ts";
import { printError } from "./_output.ts";
import { unitArguments } from "./_units.ts";
import { sayLockWait } from "./_waiting.ts";
import { usageError } from "../protocol/index.ts";

export default defineCommand({
  meta: { name: "lock" },
  args: {
    lock: { type: "positional", description: "The lock to hold while the command runs" },
    timeout: {
      type: "string",
      default: "5m",
      valueHint: "DURATION",
      description: "Longest wait for the lock, e.g. 30s, 5m, 1h; 0 waits for ever",
    },
    ...clientArgs,
  },
  usage: "<name> [--timeout 5m] -- CMD [ARGS...]",
  helpUsage: "<NAME> -- CMD [ARGS...]",
  async run(args) {
    const [lock] = unitArguments(args._, 1, 1, "exactly one lock name is required before --");
    const command = args.rest;
    if (command === undefined) throw usageError("the command to run goes after --");
    if (command.length === 0 || command[0] === "") throw usageError("no command after --");
    const timeoutMs = parseDuration(String(args.timeout), "--timeout");
    // Nothing is taken for a command that cannot run: others would wait for nothing.
    const found = await findExecutable(command[0]!);
    if (!("path" in found)) {
      await printError(`error: ${found.reason}`);
      return found.status;
    }
    const held = await clientOf(args).holdLock(lock!, { timeoutMs, asker: askerOf(), onWaiting: (line) => sayLockWait(undefined, line) });
    const { status } = await runChild(found.path, command);
    // Exiting would release it too; releasing first hands it over before our own exit.
    await held.release();
    return status;
  },
});
