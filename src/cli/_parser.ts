import type { ArgDef, ArgsDef } from "citty";
import { usageError } from "../protocol/index.ts";

/** Parsed flags by their long name, positionals in `_`, and what followed `--` in `rest`. */
export interface ParsedArgv {
  _: string[];
  rest: string[] | undefined;
  [flag: string]: string | boolean | string[] | undefined;
}

/**
 * Parses `argv` against citty argument definitions. Strict where citty is lenient:
 * an unknown flag, a missing value or a bad enum value is a usage error (exit 2).
 * Positionals are left for the command to check, with its own wording. Flags named in
 * `repeatable` collect every value into an array (`--after a --after b`).
 */
export function parseArgv(argv: readonly string[], defs: ArgsDef, repeatable: readonly string[] = []): ParsedArgv {
  const flags = new Map<string, [string, ArgDef]>();
  for (const [name, def] of Object.entries(defs)) {
    if (def.type === "positional") continue;
    flags.set(`--${name}`, [name, def]);
    const aliases = "alias" in def ? def.alias : undefined;
    for (const alias of typeof aliases === "string" ? [aliases] : (aliases ?? [])) {
      flags.set(alias.length === 1 ? `-${alias}` : `--${alias}`, [name, def]);
    }
  }

  const parsed: ParsedArgv = { _: [], rest: undefined };
  for (const [name, def] of Object.entries(defs)) {
    if (def.type !== "positional" && def.default !== undefined) parsed[name] = def.default;
  }
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") {
      parsed.rest = argv.slice(i + 1);
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      parsed._.push(token);
      continue;
    }
    const equals = token.indexOf("=");
    const key = equals > 0 ? token.slice(0, equals) : token;
    const known = flags.get(key);
    if (!known) throw usageError(`unknown option ${key}`);
    const [name, def] = known;
    if (def.type === "boolean") {
      if (equals > 0) throw usageError(`option ${key} takes no value`);
      parsed[name] = true;
      continue;
    }
    let value: string | undefined;
    if (equals > 0) value = token.slice(equals + 1);
    else if (i + 1 < argv.length && !flags.has(argv[i + 1]!.split("=")[0]!)) value = argv[++i];
    if (value === undefined) throw usageError(`option ${key} needs a value`);
    if (def.type === "enum" && def.options && !def.options.includes(value)) {
      throw usageError(`option ${key} must be one of ${def.options.join(", ")}, not ${JSON.stringify(value)}`);
    }
    if (repeatable.includes(name)) parsed[name] = [...((parsed[name] as string[] | undefined) ?? []), value];
    else parsed[name] = value;
  }
  return parsed;
}

/** The subcommand is the first bare word, skipping the value of a global `--socket-path`. */
export function commandIndex(argv: readonly string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") return -1;
    if (token === "--socket-path") i++;
    else if (!token.startsWith("-")) return i;
  }
  return -1;
}
