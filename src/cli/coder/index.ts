import type { ArgsDef } from "citty";
import { chooseCoderSocketPath, ENV, UnitsyncError, VERSION } from "../../protocol/index.ts";
import { OutputClosed, print, printError } from "../_output.ts";
import { commandIndex, parseArgv } from "../_parser.ts";
import { CoderFailure, socketArgs, type CoderCommand } from "./_dialect.ts";

/**
 * The `coder` personality: the binary run under the name `coder` answers `coder exp sync ...`
 * as Coder's CLI does (its output, its error wording, exit code 1 for every failure, its
 * socket path), and still takes unitsync's own commands there. Loaded only under that name.
 */

/** Coder's subcommands, answered in Coder's words. */
const CODER_COMMANDS: Record<string, () => Promise<CoderCommand>> = {
  ping: () => import("./ping.ts").then((m) => m.default),
  want: () => import("./want.ts").then((m) => m.default),
  start: () => import("./start.ts").then((m) => m.default),
  complete: () => import("./complete.ts").then((m) => m.default),
  status: () => import("./status.ts").then((m) => m.default),
  list: () => import("./list.ts").then((m) => m.default),
};

/** unitsync's own commands, answered by unitsync's command as it is, on Coder's socket. */
const NATIVE_COMMANDS = ["fail", "run", "events", "graph", "timeline", "lock", "locks"];

/** Flags only unitsync's command of the same name has: given one, that command answers instead. */
const NATIVE_FLAGS: Record<string, readonly string[]> = {
  complete: ["--when", "--exit-code", "--status", "--timeout"],
  start: ["--report-every", "--wait-for-server"],
};

const helpArgs = { help: { type: "boolean", alias: "h", description: "Show this help" } } as const satisfies ArgsDef;

/** Runs one invocation under the name `coder` and returns its exit code; never throws. */
export async function runCoder(argv: readonly string[]): Promise<number> {
  if (argv[0] !== "exp" || argv[1] !== "sync") return standIn(argv);
  const rest = argv.slice(2);
  const index = commandIndex(rest);
  const name = index < 0 ? undefined : rest[index]!;
  const others = index < 0 ? rest : [...rest.slice(0, index), ...rest.slice(index + 1)];
  try {
    // As Coder's parent command: its help, whatever flags came with it.
    if (name === undefined) return await printHelp(parentHelp());
    if (NATIVE_COMMANDS.includes(name) || NATIVE_FLAGS[name]?.some((flag) => hasFlag(others, flag))) {
      return await native(name, others);
    }
    const load = Object.hasOwn(CODER_COMMANDS, name) ? CODER_COMMANDS[name] : undefined;
    if (!load) throw new CoderFailure(`unknown subcommand ${JSON.stringify(name)}; the subcommands are ${[...Object.keys(CODER_COMMANDS), ...NATIVE_COMMANDS].join(", ")}`);
    const command = await load();
    const args = parseArgv(others, { ...command.args, ...socketArgs, ...helpArgs });
    if (args.help) return await printHelp(commandHelp(command));
    await command.run(args);
    return 0;
  } catch (error) {
    return report(error, name);
  }
}

function hasFlag(argv: readonly string[], flag: string): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((token) => token === flag || token.startsWith(`${flag}=`));
}

/** Hands the command to unitsync's own, on Coder's socket unless the command line names one. */
async function native(name: string, others: readonly string[]): Promise<number> {
  const [{ runCli }, { commands }] = await Promise.all([import("../_runner.ts"), import("../commands.ts")]);
  const socket = hasFlag(others, "--socket-path") ? [] : ["--socket-path", chooseCoderSocketPath(undefined).path];
  return runCli(
    { meta: { name: "coder exp sync", version: VERSION, description: "unitsync's commands under Coder's name" }, subCommands: { [name]: commands[name]! } },
    [...socket, name, ...others],
  );
}

/** Every other `coder` command: a real Coder CLI's, when UNITSYNC_REAL_CODER names one. */
async function standIn(argv: readonly string[]): Promise<number> {
  const real = process.env[ENV.realCoder];
  if (!real) {
    await printError(
      `error: this "coder" is unitsync's stand-in and answers only "coder exp sync ..."; set ${ENV.realCoder} to a real coder binary to hand it every other command`,
    ).catch(() => {});
    return 1;
  }
  const { realpathSync } = await import("node:fs");
  const resolved = (() => {
    try {
      return realpathSync(real);
    } catch {
      return real;
    }
  })();
  if (resolved === process.execPath) {
    await printError(`error: ${ENV.realCoder}=${real} is this stand-in itself, not a real coder binary`).catch(() => {});
    return 1;
  }
  try {
    const child = Bun.spawn([real, ...argv], { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
    return await child.exited;
  } catch (error) {
    await printError(`error: cannot run ${ENV.realCoder}=${real}: ${(error as Error).message}`).catch(() => {});
    return 127;
  }
}

async function printHelp(text: string): Promise<number> {
  await print(text);
  return 0;
}

/** Coder's two lines: which command failed and where its help is, then `error: ` and why. Exit 1 for all. */
async function report(error: unknown, name: string | undefined): Promise<number> {
  if (error instanceof OutputClosed) return 141;
  let message: string;
  if (error instanceof CoderFailure || error instanceof UnitsyncError) message = error.message;
  else message = `unexpected failure, please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  const full = `coder exp sync${name === undefined ? "" : ` ${name}`}`;
  await printError(`Encountered an error running "${full}", see "${full} --help" for more information\nerror: ${message}`).catch(() => {});
  return 1;
}

function parentHelp(): string {
  const lines = [
    "USAGE:",
    "  coder exp sync [flags] <subcommand>",
    "",
    "  Order start-up scripts by units and dependencies. This is unitsync answering as",
    "  Coder's CLI; other coder commands are not here.",
    "",
    "SUBCOMMANDS:",
    "    complete    Mark a unit completed",
    "    list        List the registered units",
    "    ping        Check that the agent socket answers",
    "    start       Wait for a unit's dependencies, then mark it started",
    "    status      Show a unit and its dependencies",
    "    want        Declare what a unit waits for",
    "",
    "  unitsync's own: fail, run, events, graph, timeline, lock, locks (see unitsync --help)",
    "",
    "OPTIONS:",
    "      --socket-path string, $CODER_AGENT_SOCKET_PATH",
    "          The agent socket (default: /tmp/coder-agent.sock).",
  ];
  return `${lines.join("\n")}\n`;
}

function commandHelp(command: CoderCommand): string {
  const flags = Object.entries(command.args as ArgsDef).map(([flag, def]) => {
    const alias = "alias" in def && typeof def.alias === "string" ? `-${def.alias}, ` : "";
    const hint = "valueHint" in def && def.valueHint ? ` ${def.valueHint}` : "";
    return `  ${alias}--${flag}${hint}\n          ${def.description ?? ""}`;
  });
  return `USAGE:\n  coder exp sync ${command.usage}\n\n  ${command.description}\n${flags.length > 0 ? `\nOPTIONS:\n${flags.join("\n")}\n` : ""}`;
}
