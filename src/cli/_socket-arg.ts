import type { ArgsDef } from "citty";

/**
 * `--socket-path`, accepted by every command, before or after its own arguments. A file of
 * its own so that the root (`--help`, `--version`) reads it without loading the client.
 */
export const socketArgs = {
  "socket-path": {
    type: "string",
    valueHint: "PATH",
    description: "Server socket (default: $UNITSYNC_SOCKET_PATH, else $CODER_AGENT_SOCKET_PATH, else unitsync.sock in $XDG_RUNTIME_DIR/unitsync or /tmp/unitsync-<uid>)",
  },
} as const satisfies ArgsDef;
