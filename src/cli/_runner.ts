import type { ArgsDef } from "citty";
import { UnitsyncError } from "../protocol/index.ts";
import { socketArgs } from "./_socket-arg.ts";
import type { RootCommand, UnitsyncCommand } from "./_command.ts";
import { exitCodeFor, EXIT } from "./_exit.ts";
import { OutputClosed, print, printError } from "./_output.ts";
import { commandIndex, parseArgv } from "./_parser.ts";
import { isTerminal } from "../render/terminal.ts";
import { usageError } from "../protocol/index.ts";

const helpArgs = {
  help: { type: "boolean", alias: "h", description: "Show this help" },
} as const satisfies ArgsDef;

const rootArgs = {
  ...socketArgs,
  version: { type: "boolean", alias: "V", description: "Print the version" },
  ...helpArgs,
} as const satisfies ArgsDef;

/** Runs one invocation of the CLI and returns its exit code; never throws. */
export async function runCli(root: RootCommand, argv: readonly string[]): Promise<number> {
  const at = commandIndex(argv);
  const name = at < 0 ? undefined : argv[at]!;
  const others = at < 0 ? argv : [...argv.slice(0, at), ...argv.slice(at + 1)];
  let command: UnitsyncCommand | undefined;
  try {
    if (name === undefined) {
      if (others.includes("--version") || others.includes("-V")) {
        await print(`unitsync ${root.meta.version}`);
        return EXIT.ok;
      }
      const asked = others.includes("--help") || others.includes("-h");
      const usage = await renderHelp(root);
      await (asked ? print(usage) : printError(usage));
      return asked ? EXIT.ok : EXIT.usage;
    }
    const entry = Object.hasOwn(root.subCommands, name) ? root.subCommands[name] : undefined;
    if (!entry) {
      const known = Object.keys(root.subCommands).join(", ");
      throw usageError(`unknown command ${JSON.stringify(name)}; the commands are ${known}`);
    }
    command = await entry.load();
    const args = parseArgv(others, { ...command.args, ...helpArgs }, command.repeatable);
    if (args.help) {
      await print(await renderHelp(root, { command, description: entry.description }));
      return EXIT.ok;
    }
    return (await command.run(args)) ?? EXIT.ok;
  } catch (error) {
    return reportError(error, root, command);
  }
}

async function reportError(error: unknown, root: RootCommand, command: UnitsyncCommand | undefined): Promise<number> {
  // Nobody reads any more: say nothing, as a Unix tool that SIGPIPE ends says nothing.
  if (error instanceof OutputClosed) return EXIT.outputClosed;
  if (!(error instanceof UnitsyncError)) {
    await say(`error: unexpected failure, please report it: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return EXIT.refused;
  }
  let message = `error: ${error.message}`;
  if (error.code === "usage" && command?.usage !== "") {
    message += command
      ? `; usage: ${root.meta.name} ${command.meta.name} ${command.usage}`.trimEnd()
      : `; run "${root.meta.name} --help" for usage`;
  }
  await say(message);
  return exitCodeFor(error.code);
}

/** The last word on stderr; when stderr is gone too, the exit code alone has to say it. */
async function say(message: string): Promise<void> {
  await printError(message).catch(() => {});
}

/**
 * The help, in citty's layout from citty's argument definitions (`render/usage.ts`), loaded
 * only here. The root help reads the command table alone: loading every command for its line
 * cost as much again as a whole client command.
 */
async function renderHelp(root: RootCommand, asked?: { command: UnitsyncCommand; description: string }): Promise<string> {
  // Colour only on a terminal, and never with NO_COLOR, TERM=dumb, or in CI and tests (as citty decides).
  const env = process.env;
  const colour = isTerminal(1) && env.NO_COLOR === undefined && env.TERM !== "dumb" && !env.TEST && !env.CI;
  const { renderUsage } = await import("../render/usage.ts");
  const { name, version, description } = root.meta;
  if (!asked) return `${renderUsage({ name, version, description, args: rootArgs, commands: root.subCommands }, colour)}\n`;
  const { command } = asked;
  const args = { ...command.args, ...helpArgs };
  return `${renderUsage({ name: command.meta.name, parent: name, version, description: asked.description, args, usage: command.helpUsage }, colour)}\n`;
}
