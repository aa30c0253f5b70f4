import type { ArgsDef } from "citty";
import { UnitsyncClient } from "../../client/index.ts";
import { chooseCoderSocketPath, UnitsyncError } from "../../protocol/index.ts";
import { waitForServerOf } from "../_args.ts";
import type { ParsedArgv } from "../_parser.ts";

/** One `coder exp sync` subcommand: Coder's usage line, our own description, its flags. */
export interface CoderCommand {
  usage: string;
  description: string;
  args: ArgsDef;
  run(args: ParsedArgv): Promise<void>;
}

/** A failure already in Coder's words: the runner prints it after Coder's headline and exits 1. */
export class CoderFailure extends Error {
  override readonly name = "CoderFailure";
}

/** `--socket-path`, on the parent command and so accepted after any subcommand's arguments. */
export const socketArgs = {
  "socket-path": { type: "string", valueHint: "PATH", description: "The agent socket (default: $CODER_AGENT_SOCKET_PATH, else /tmp/coder-agent.sock)" },
} as const satisfies ArgsDef;

/** `-o` and `-c`, as Coder's `status` and `list` take them. */
export function tableArgs(columns: readonly string[]) {
  return {
    output: { type: "enum", alias: "o", options: ["table", "json"], default: "table", valueHint: "table|json", description: "Output format" },
    column: {
      type: "string",
      alias: "c",
      valueHint: `[${columns.join("|")}]`,
      description: `Columns to show, comma-separated (default: ${columns.join(",")})`,
    },
  } as const satisfies ArgsDef;
}

/** The columns `-c` chose, in the order given; a name that is not a column is refused. */
export function chosenColumns(args: ParsedArgv, columns: readonly string[]): string[] {
  if (typeof args.column !== "string") return [...columns];
  const chosen = args.column.split(",").map((column) => column.trim().toLowerCase());
  for (const column of chosen) {
    if (!columns.includes(column)) throw new CoderFailure(`unknown column ${JSON.stringify(column)}: the columns are ${columns.join(", ")}`);
  }
  return chosen;
}

export function socketPathOf(args: ParsedArgv): string {
  return chooseCoderSocketPath(typeof args["socket-path"] === "string" ? args["socket-path"] : undefined).path;
}

/**
 * A client for Coder's socket; the path was chosen by the user or by Coder's convention, never
 * guessed. It waits for a server not up yet, or being started again, only as long as
 * UNITSYNC_WAIT_FOR_SERVER says (Coder has no such flag; `up` sets it for its scripts).
 */
export function clientOf(args: ParsedArgv): UnitsyncClient {
  return new UnitsyncClient(socketPathOf(args), { explicitPath: true, blocking: true, waitForServerMs: waitForServerOf(args) ?? 0 });
}

/** Go's `%q` for the names Coder's messages quote. */
export function quoted(name: string): string {
  return JSON.stringify(name);
}

/** What Go's net package says after `connect: ` for each system error. */
const CONNECT_ERRORS: Record<string, string> = {
  ENOENT: "no such file or directory",
  ECONNREFUSED: "connection refused",
  EACCES: "permission denied",
  ENOTDIR: "not a directory",
  ENAMETOOLONG: "invalid argument",
  ELOOP: "too many levels of symbolic links",
};

/** The operations whose refusals Coder words differently from unitsync; see `inCoderWords`. */
export type Operation = "ping" | "start" | "want" | "complete" | "status" | "list";

const PREFIXES: Record<Operation, string> = {
  ping: "ping failed",
  start: "start unit failed",
  want: "declare dependency failed",
  complete: "complete unit failed",
  status: "get status failed",
  list: "list units failed",
};

/**
 * The one translation from unitsync's errors to Coder's: no server becomes Go's dial error,
 * and each refusal Coder also knows gets Coder's chain of wrapped messages. A refusal only
 * unitsync has (a failed dependency, a limit) keeps its own words after Coder's prefix.
 * `dependency` is the edge a `want` was adding.
 */
export function inCoderWords(error: unknown, operation: Operation, unit: string, socketPath: string, dependency?: string): unknown {
  if (error instanceof CoderFailure || !(error instanceof UnitsyncError)) return error;
  if (error.code === "server_unreachable" && error.cause !== undefined) {
    const code = (error.cause as { code?: string }).code ?? "";
    const reason = CONNECT_ERRORS[code] ?? error.message;
    return new CoderFailure(`connect to agent socket: connect to socket: dial unix ${socketPath}: connect: ${reason}`);
  }
  const u = quoted(unit);
  if (operation === "start" && error.code === "timeout") {
    // Single quotes: Coder's one message that does not use %q.
    return new CoderFailure(`timeout waiting for dependencies of unit '${unit}'`);
  }
  let detail = error.message;
  if (operation === "start") {
    detail = /already started/.test(error.message)
      ? `cannot start unit ${u}: checking status for unit ${u}: same status already set`
      : `cannot start unit ${u}: ${error.message}`;
  } else if (operation === "complete") {
    if (error.code === "not_registered") detail = `cannot complete unit ${u}: unit ${u} must be registered first: unit not found`;
    else if (/already completed/.test(error.message)) detail = `cannot complete unit ${u}: checking status for unit ${u}: same status already set`;
    else detail = `cannot complete unit ${u}: ${error.message}`;
  } else if (operation === "want" && error.code === "cycle") {
    detail = `cannot add dependency: adding edge for unit ${u}: failed to add dependency\nadding edge (${unit} -> ${dependency}): cycle detected`;
  } else if (operation === "want") {
    detail = `cannot add dependency: ${error.message}`;
  }
  return new CoderFailure(`${PREFIXES[operation]}: ${detail}`);
}

/** Coder's refusal of an empty unit name, which unitsync refuses before asking the server. */
export function emptyNameFailure(operation: Operation, which: "unit" | "dependency" = "unit"): CoderFailure {
  const required = "unit name is required";
  switch (operation) {
    case "want":
      return new CoderFailure(
        which === "unit"
          ? `declare dependency failed: cannot add dependency: registering unit "": ${required}`
          : `declare dependency failed: cannot add dependency: dependency name cannot be empty: ${required}`,
      );
    case "complete":
      return new CoderFailure(`complete unit failed: cannot complete unit "": updating status for unit "": ${required}`);
    default:
      return new CoderFailure(`get status failed: cannot check readiness: unit ID cannot be empty: ${required}`);
  }
}

/** Runs `request` and rewords its failure as Coder would. */
export async function asCoder<T>(
  request: () => Promise<T>,
  operation: Operation,
  unit: string,
  socketPath: string,
  dependency?: string,
): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw inCoderWords(error, operation, unit, socketPath, dependency);
  }
}
