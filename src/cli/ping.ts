import { clientArgs, clientOf, socketPathOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { formatDuration } from "./_duration.ts";
import { print } from "./_output.ts";
import { usageError } from "./_parser.ts";

const SOURCES = { flag: "from --socket-path", env: "from UNITSYNC_SOCKET_PATH", default: "the default path" };

export default defineCommand({
  meta: { name: "ping", description: "Check that a server answers, and show its version, socket path, uptime and unit count" },
  args: { ...clientArgs },
  usage: "",
  async run(args) {
    if (args._.length > 0) throw usageError("ping takes no arguments");
    const socket = socketPathOf(args);
    const server = await clientOf(args, socket).ping();
    const units = server.units === 1 ? "1 unit" : `${server.units} units`;
    await print(
      `Success: unitsync ${server.version} (pid ${server.pid}) on ${socket.path} (${SOURCES[socket.source]}), up ${formatDuration(server.uptime_ms)}, ${units}`,
    );
  },
});
