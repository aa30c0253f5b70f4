import { clientArgs, clientOf, socketPathOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { formatDuration } from "../render/duration.ts";
import { print } from "./_output.ts";
import { usageError } from "../protocol/index.ts";
import type { SocketPathChoice } from "../protocol/index.ts";

/** Where the path came from, as `ping` says it. */
function whence({ source, why }: SocketPathChoice): string {
  switch (source) {
    case "flag":
      return "from --socket-path";
    case "env":
      return `from ${why}`;
    case "runtime-dir":
      return "the default in $XDG_RUNTIME_DIR";
    case "tmp":
      return `the default under /tmp: ${why}`;
  }
}

export default defineCommand({
  meta: { name: "ping" },
  args: {
    quiet: { type: "boolean", alias: "q", description: "Print only Success, as coder exp sync ping does (for scripts that compare it)" },
    ...clientArgs,
  },
  usage: "",
  async run(args) {
    if (args._.length > 0) throw usageError("ping takes no arguments");
    const socket = socketPathOf(args);
    const server = await clientOf(args, socket).ping();
    if (args.quiet) return void (await print("Success"));
    const units = server.units === 1 ? "1 unit" : `${server.units} units`;
    await print(
      `Success: unitsync ${server.version} (pid ${server.pid}) on ${socket.path} (${whence(socket)}), up ${formatDuration(server.uptime_ms)}, ${units}`,
    );
    const recovered = server.recovered;
    if (recovered) {
      const torn = recovered.dropped_torn_line ? ", its last line cut short and left out" : "";
      await print(`Recovered at its start: ${recovered.units} units from ${recovered.from} (${recovered.operations} operations${torn})`);
    }
  },
});
