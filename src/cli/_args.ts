import type { ArgsDef } from "citty";
import type { ParsedArgv } from "./_parser.ts";
import { chooseSocketPath, type SocketPathChoice } from "../protocol/index.ts";

/** Accepted by every command, before or after its own arguments. */
export const socketArgs = {
  "socket-path": {
    type: "string",
    valueHint: "PATH",
    description: "Server socket (default: $UNITSYNC_SOCKET_PATH, else /tmp/unitsync-<uid>/unitsync.sock)",
  },
} as const satisfies ArgsDef;

/** `-o table|json` for the commands that print state. */
export const outputArgs = {
  output: {
    type: "enum",
    alias: "o",
    options: ["table", "json"],
    default: "table",
    valueHint: "table|json",
    description: "Output format",
  },
} as const satisfies ArgsDef;

export function socketPathOf(args: ParsedArgv): SocketPathChoice {
  const flag = args["socket-path"];
  return chooseSocketPath(typeof flag === "string" ? flag : undefined);
}

/** `--requires` for the commands that declare dependencies. */
export const requiresArgs = {
  requires: {
    type: "enum",
    options: ["success", "completion", "started"],
    default: "success",
    valueHint: "success|completion|started",
    description: "What each dependency must reach: completed, ended either way, or started",
  },
} as const satisfies ArgsDef;
