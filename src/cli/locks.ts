import { clientArgs, clientOf, outputArgs } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { print } from "./_output.ts";
import { formatLocks } from "../render/locks.ts";
import { formatJson } from "../render/text.ts";
import { usageError } from "../protocol/index.ts";

export default defineCommand({
  meta: { name: "locks" },
  args: { ...outputArgs, ...clientArgs },
  usage: "[-o table|json]",
  async run(args) {
    if (args._.length > 0) throw usageError("locks takes no arguments");
    const locks = await clientOf(args).locks();
    await print(args.output === "json" ? formatJson(locks) : formatLocks(locks, Date.now()));
  },
});
