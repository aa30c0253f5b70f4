import { usageError } from "../protocol/index.ts";
import { defineCommand } from "./_command.ts";
import { parseDuration } from "./_duration.ts";
import { exitCodeForStartup } from "./_exit.ts";

export default defineCommand({
  meta: { name: "up" },
  args: {
    scripts: { type: "positional", description: "Script files, or directories whose executable files run (in name order)" },
    timeout: {
      type: "string",
      default: "10m",
      valueHint: "DURATION",
      description: "Stop every script when start-up takes longer than this; 0 for no limit",
    },
    timeline: { type: "string", valueHint: "FILE.svg", description: "Also save the timeline as an SVG picture" },
    // Its own description: up serves on a private socket, and never reads $UNITSYNC_SOCKET_PATH.
    "socket-path": {
      type: "string",
      valueHint: "PATH",
      description: "Serve the scripts on this socket (default: a private socket of its own; $UNITSYNC_SOCKET_PATH is not read)",
    },
  },
  usage: "[--timeout 10m] [--timeline FILE.svg] SCRIPT|DIR...",
  helpUsage: "SCRIPT|DIR...",
  async run(args) {
    if (args._.length === 0) throw usageError("name at least one script or directory of scripts");
    const timeoutMs = parseDuration(String(args.timeout), "--timeout", "means no limit");
    const { findScripts } = await import("../supervisor/scripts.ts");
    const { scripts, skipped } = await findScripts(args._);
    const { runStartup } = await import("../supervisor/supervisor.ts");
    const outcome = await runStartup({
      scripts,
      skipped,
      timeoutMs,
      socketPath: typeof args["socket-path"] === "string" ? args["socket-path"] : undefined,
      timelineSvg: typeof args.timeline === "string" ? args.timeline : undefined,
    });
    return exitCodeForStartup(outcome);
  },
});
