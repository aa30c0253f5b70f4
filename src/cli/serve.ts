import { chooseCoderSocketPath, UnitsyncError, usageError, VERSION } from "../protocol/index.ts";
import { groupId, restartWithoutOptimizingJit, startServer } from "../server/index.ts";
import { socketArgs, socketPathOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { parseDuration } from "./_duration.ts";
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
    "no-journal": {
      type: "boolean",
      description: "Keep no journal: a server started again on this path knows nothing of this one",
    },
    fresh: {
      type: "boolean",
      description: "Start empty: set aside the journal an earlier server on this path left, instead of recovering from it",
    },
    coder: {
      type: "boolean",
      description: "Serve as Coder's agent does: at $CODER_AGENT_SOCKET_PATH or /tmp/coder-agent.sock, with Coder's rules",
    },
    "settle-after": {
      type: "string",
      valueHint: "DURATION",
      description: "With OTEL_EXPORTER_OTLP_ENDPOINT set: send the trace after this much quiet, units still running or not",
    },
  },
  usage: "",
  async run(args) {
    if (args._.length > 0) throw usageError("serve takes no arguments");
    // Before anything else: a long-lived server is leaner without JavaScriptCore's optimizing compilers.
    restartWithoutOptimizingJit();
    // Listen for the stop signals before the socket exists: a client may see the server
    // answer and signal it at once, and an unhandled SIGINT would leave the socket behind.
    const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    const logger = await createLogger();
    const coder = args.coder === true;
    const socketPath = coder ? chooseCoderSocketPath(args["socket-path"] as string | undefined).path : socketPathOf(args).path;
    const gid = typeof args.group === "string" ? await groupId(args.group) : undefined;
    const settleAfter = args["settle-after"] === undefined ? 0 : parseDuration(String(args["settle-after"]), "--settle-after", "waits for every unit to end");
    const tracing = { env: process.env, settleAfterMs: settleAfter > 0 ? settleAfter : undefined };
    const server = await startServer({
      socketPath,
      log: logger,
      gid,
      rules: coder ? "coder" : "unitsync",
      tracing,
      journal: args["no-journal"] !== true,
      fresh: args.fresh === true,
    }).catch((error: unknown) => {
      // Coder's agent words every failure to make its socket this way, a live server's so.
      if (!coder || !(error instanceof UnitsyncError)) throw error;
      const live = /already listening/.test(error.message);
      throw new UnitsyncError(error.code, `create socket: ${live ? `socket path ${socketPath} is not available` : error.message}`);
    });
    // A recovered server said how much it recovered; only what happens from now on is logged line by line.
    server.view.followEvents(server.view.lastEventSeq(), (event) => logLineLater("info", () => describeEvent(event)));
    const sharing = args.group ? `, shared with group ${args.group}` : "";
    const rules = coder ? ", with Coder's rules" : "";
    logger.info(`unitsync ${VERSION} serving on ${socketPath} (pid ${process.pid}${sharing}${rules})`);
    const signal = await stopSignal;
    await server.stop();
    logger.info(`stopped on ${signal}; removed ${socketPath}`);
  },
});
