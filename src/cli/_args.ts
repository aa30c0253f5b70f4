import type { ArgsDef } from "citty";
import { parseDuration } from "./_duration.ts";
import type { ParsedArgv } from "./_parser.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS, UnitsyncClient, type RideOver } from "../client/index.ts";
import { chooseSocketPath, ENV, usageError, type SocketPathChoice } from "../protocol/index.ts";
import { socketArgs } from "./_socket-arg.ts";

export { socketArgs };

/** Accepted by every command that talks to a server: the socket, and how long to wait for one. */
export const clientArgs = {
  ...socketArgs,
  "wait-for-server": {
    type: "string",
    valueHint: "DURATION",
    description:
      "Wait this long for a server not up yet or gone away (default: $UNITSYNC_WAIT_FOR_SERVER, else 0; a waiting command whose server went away waits out its --timeout)",
  },
} as const satisfies ArgsDef;

/**
 * The client for the command's server, waiting for it as `--wait-for-server` or
 * UNITSYNC_WAIT_FOR_SERVER say, and for its answers as UNITSYNC_REQUEST_TIMEOUT says.
 */
export function clientOf(args: ParsedArgv, socket: SocketPathChoice = socketPathOf(args)): UnitsyncClient {
  const waitForServerMs = waitForServerOf(args) ?? 0;
  // An environment variable only: a safety net for a stopped server, set once for a whole image.
  const timeout = process.env[ENV.requestTimeout];
  const requestTimeoutMs = timeout ? parseDuration(timeout, "UNITSYNC_REQUEST_TIMEOUT") : DEFAULT_REQUEST_TIMEOUT_MS;
  const explicitPath = socket.source === "flag" || socket.source === "env";
  // A command has nothing else to do while it asks: blocking calls cost it least.
  return new UnitsyncClient(socket.path, { waitForServerMs, requestTimeoutMs, explicitPath, blocking: true });
}

/** `--wait-for-server`, else UNITSYNC_WAIT_FOR_SERVER, in ms; undefined when neither is given. */
export function waitForServerOf(args: ParsedArgv): number | undefined {
  const flag = args["wait-for-server"];
  if (typeof flag === "string") return parseDuration(flag, "--wait-for-server", "fails at once");
  const env = process.env[ENV.waitForServer];
  return env ? parseDuration(env, "UNITSYNC_WAIT_FOR_SERVER", "fails at once") : undefined;
}

/**
 * How a command that does not wait (want, complete, fail) rides over a server that goes away
 * mid-request: only when asked to wait for one (`--wait-for-server`, UNITSYNC_WAIT_FOR_SERVER),
 * for that long; otherwise it fails at once, exit 5, as it always has.
 */
export function rideOverIfAsked(args: ParsedArgv, say: (line: string) => Promise<void>): RideOver | undefined {
  return waitForServerOf(args) === undefined ? undefined : rideOverOf(args, say);
}

/**
 * How a waiting command (start, run, complete --when, events --follow) rides over a server
 * that goes away: for `--wait-for-server` if given, else for the rest of its own time-out,
 * saying so on stderr each time.
 */
export function rideOverOf(args: ParsedArgv, say: (line: string) => Promise<void>): RideOver {
  return {
    maxMs: waitForServerOf(args),
    onGone: (error) => say(`${error.message}; waiting for a server on the same path to go on`),
  };
}

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
  // Most likely `--socket-path "$UNSET"`: falling back to the default would reach another server.
  if (flag === "") {
    throw usageError(`--socket-path is empty: give a socket path, or leave the flag out for $UNITSYNC_SOCKET_PATH or the default`);
  }
  return chooseSocketPath(typeof flag === "string" ? flag : undefined);
}

/** `-c/--column`, as Coder's `status` and `list` take it. */
export function columnArgs(columns: readonly string[]) {
  return {
    column: {
      type: "string",
      alias: "c",
      valueHint: "COLUMNS",
      description: `Columns to show, comma-separated: ${columns.join(", ")}`,
    },
  } as const satisfies ArgsDef;
}

/** The columns `-c` chose, in the order given, or undefined without `-c`; an unknown name is a usage error. */
export function chosenColumns(args: ParsedArgv, columns: readonly string[]): string[] | undefined {
  if (typeof args.column !== "string") return undefined;
  const chosen = args.column.split(",").map((column) => column.trim().toLowerCase());
  const unknown = chosen.find((column) => !columns.includes(column));
  if (unknown !== undefined) throw usageError(`unknown column ${JSON.stringify(unknown)}; the columns are ${columns.join(", ")}`);
  return chosen;
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

/** `--timeout` and `--report-every`, for the commands that wait for dependencies. */
export const waitArgs = {
  timeout: {
    type: "string",
    default: "5m",
    valueHint: "DURATION",
    description: "Longest wait for dependencies, e.g. 30s, 5m, 1h; 0 waits for ever",
  },
  "report-every": {
    type: "string",
    valueHint: "DURATION",
    description: "Report on stderr what is still missing, at once and then this often; 0 never (default: $UNITSYNC_REPORT_EVERY or 30s)",
  },
} as const satisfies ArgsDef;

/** The milliseconds between waiting reports: the flag, else UNITSYNC_REPORT_EVERY, else 30 s. */
export function reportEveryOf(args: ParsedArgv): number {
  const flag = args["report-every"];
  if (typeof flag === "string") return parseDuration(flag, "--report-every", "turns reports off");
  const env = process.env[ENV.reportEvery];
  return env ? parseDuration(env, "UNITSYNC_REPORT_EVERY", "turns reports off") : 30_000;
}

/** Who a waiting start says asks: this process, in the script `up` named in UNITSYNC_SCRIPT. */
export function askerOf(): { pid: number; script?: string } {
  return { pid: process.pid, script: process.env[ENV.script] };
}
