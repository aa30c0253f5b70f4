import { usageError, VERSION } from "../protocol/index.ts";
import { groupId, startServer } from "../server/index.ts";
import { socketArgs, socketPathOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { describeEvent } from "../render/events.ts";
import { createLogger, logLineLater } from "./_log.ts";

export default defineCommand({
  meta: { name: "serve" },
  args: {
    ...socketArgs,
    group: {
      type: "string",
      valueHint: "NAME",
      description: "Share the socket with this group (mode 0660), for scripts that run as another user",
    },
  },
  usage: "",
  async run(args) {
    if (args._.length > 0) throw usageError("serve takes no arguments");
    // Listen for the stop signals before the socket exists: a client may see the server
    // answer and signal it at once, and an unhandled SIGINT would leave the socket behind.
    const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    const logger = await createLogger();
    const socketPath = socketPathOf(args).path;
    const gid = typeof args.group === "string" ? await groupId(args.group) : undefined;
    const server = await startServer({ socketPath, log: logger, gid });
    server.view.followEvents(0, (event) => logLineLater("info", () => describeEvent(event)));
    const sharing = args.group ? `, shared with group ${args.group}` : "";
    logger.info(`unitsync ${VERSION} serving on ${socketPath} (pid ${process.pid}${sharing})`);
    const signal = await stopSignal;
    await server.stop();
    logger.info(`stopped on ${signal}; removed ${socketPath}`);
  },
});
