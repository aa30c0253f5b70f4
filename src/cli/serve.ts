import { VERSION } from "../protocol/index.ts";
import { startServer } from "../server/index.ts";
import { socketArgs, socketPathOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { usageError } from "./_parser.ts";

export default defineCommand({
  meta: {
    name: "serve",
    description: "Run the server in the foreground; SIGINT or SIGTERM stops it and removes the socket",
  },
  args: { ...socketArgs },
  usage: "",
  async run(args) {
    if (args._.length > 0) throw usageError("serve takes no arguments");
    const { createConsola } = await import("consola/basic");
    // Logs are diagnostics: stderr only, and every unit event printed even when lines repeat.
    const logger = createConsola({ stdout: process.stderr, stderr: process.stderr, throttle: 0 });
    const socketPath = socketPathOf(args).path;
    const server = await startServer({
      socketPath,
      log: { info: (message) => logger.info(`${clock()} ${message}`), warn: (message) => logger.warn(`${clock()} ${message}`) },
    });
    logger.info(`${clock()} unitsync ${VERSION} serving on ${socketPath} (pid ${process.pid})`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await server.stop();
    logger.info(`${clock()} stopped on ${signal}; removed ${socketPath}`);
  },
});

/** Wall-clock time with milliseconds, so a start-up log shows how long each step took. */
function clock(): string {
  return new Date().toISOString().slice(11, 23);
}
