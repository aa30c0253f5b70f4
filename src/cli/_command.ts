import type { ArgsDef, CommandMeta } from "citty";
import type { ParsedArgv } from "./_parser.ts";

/**
 * One subcommand. `meta` and `args` are citty's definitions, and the help is drawn from them
 * (the description is in the command table, `commands.ts`); `run` gets our strictly parsed
 * arguments and returns the exit code (0 when omitted).
 */
export interface UnitsyncCommand {
  meta: { name: string };
  args: ArgsDef;
  /** The positional part of the usage line, e.g. `<unit> <dependency> [dependency...]`. */
  usage: string;
  /**
   * The arguments on help's USAGE line, after `[OPTIONS]`, where the ones drawn from `args` (one `<NAME>`
   * per positional) would hide a `--` or a repeat.
   */
  helpUsage?: string;
  /** Flags that may be given more than once; their values arrive as an array. */
  repeatable?: readonly string[];
  run(args: ParsedArgv): Promise<number | void>;
}

/** A subcommand as the root knows it: its one line for the root help, and how to load the rest. */
export interface CommandEntry {
  description: string;
  load(): Promise<UnitsyncCommand>;
}

/** The root: its name, and the lazy map that is the only list of subcommands. */
export interface RootCommand {
  meta: CommandMeta & { name: string; version: string; description: string };
  subCommands: Record<string, CommandEntry>;
}

/** Identity with types: keeps each command file's object checked against the shape above. */
export function defineCommand(command: UnitsyncCommand): UnitsyncCommand {
  return command;
}
