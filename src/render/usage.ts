import type { ArgDef, ArgsDef } from "citty";

/**
 * A command's help in citty's layout (description line, USAGE, ARGUMENTS, OPTIONS, COMMANDS),
 * drawn from the same argument definitions, without loading citty. Rendering through citty
 * cost a compiled binary about 3 ms, a third more than the whole do-nothing process: it meets
 * a dozen of the runtime's lazily built features (regular expressions, string iterators,
 * spreads, an `await` per field) for the first time in the process. This is plain loops.
 */
export interface UsageSource {
  name: string;
  description: string;
  /** The version in the description line: the root's, also for a subcommand. */
  version: string;
  args: ArgsDef;
  /** The parent's name, written before `name` (`unitsync run`). */
  parent?: string;
  /** For the root: each subcommand's one line, in the table's order. */
  commands?: Record<string, { description: string }>;
  /**
   * What follows `[OPTIONS]` on the USAGE line, where the one drawn from the arguments (a
   * `<NAME>` per positional) would hide a `--` or a repeat.
   */
  usage?: string;
}

/** The help text, with colour (citty's: cyan names, grey notes, bold underlined headings) when `colour`. */
export function renderUsage(source: UsageSource, colour: boolean): string {
  const paint = (open: number, close: number) => (text: string) => (colour ? `\u001B[${open}m${text}\u001B[${close}m` : text);
  const cyan = paint(36, 39);
  const gray = paint(90, 39);
  const heading = (text: string) => paint(4, 24)(paint(1, 22)(text));
  const describe = (arg: ArgDef, required: boolean) => {
    let text = arg.description ?? "";
    if (required) text = join(text, gray("(Required)"));
    if (arg.default !== undefined) text = join(text, gray(`(Default: ${arg.default})`));
    return text;
  };

  const commandName = source.parent === undefined ? source.name : `${source.parent} ${source.name}`;
  const positionals: string[][] = [];
  const options: string[][] = [];
  const usage: string[] = [];
  for (const name of Object.keys(source.args)) {
    const arg = source.args[name]!;
    if (arg.type === "positional") {
      const upper = name.toUpperCase();
      const required = arg.required !== false && arg.default === undefined;
      positionals.push([cyan(upper + valueHint(name, arg)), describe(arg, required)]);
      usage.push(required ? `<${upper}>` : `[${upper}]`);
      continue;
    }
    const required = arg.required === true && arg.default === undefined;
    const alias = "alias" in arg ? arg.alias : undefined;
    const aliases = alias === undefined ? [] : Array.isArray(alias) ? alias : [alias];
    let flags = "";
    for (const alias of aliases) flags += `-${alias}, `;
    options.push([cyan(`${flags}--${name}${valueHint(name, arg)}`), describe(arg, required)]);
    const negatable = arg.type === "boolean" && (arg.default === true || arg.negativeDescription !== undefined);
    if (negatable && !negativeAlready(name)) {
      let negatives = "";
      for (const alias of aliases) negatives += `--no-${alias}, `;
      options.push([cyan(`${negatives}--no-${name}`), join(arg.negativeDescription ?? "", required ? gray("(Required)") : "")]);
    }
    if (required) usage.push(`--${name}${valueHint(name, arg)}`);
  }
  const commands: string[][] = [];
  if (source.commands !== undefined) {
    const names = Object.keys(source.commands);
    for (const name of names) commands.push([cyan(name), source.commands[name]!.description]);
    usage.push(names.join("|"));
  }

  const hasOptions = options.length > 0 || positionals.length > 0;
  const lines = [gray(`${source.description} (${commandName} v${source.version})`), ""];
  lines.push(`${heading("USAGE")} ${cyan(`${commandName}${hasOptions ? " [OPTIONS]" : ""} ${source.usage ?? usage.join(" ")}`)}`, "");
  if (positionals.length > 0) lines.push(heading("ARGUMENTS"), "", columns(positionals), "");
  if (options.length > 0) lines.push(heading("OPTIONS"), "", columns(options), "");
  if (commands.length > 0) {
    lines.push(heading("COMMANDS"), "", columns(commands), "");
    lines.push(`Use ${cyan(`${commandName} <command> --help`)} for more information about a command.`);
  }
  return lines.join("\n");
}

/** `=<HINT>` after a flag that takes a value: its hint, an enum's choices, or its name in snake case. */
function valueHint(name: string, arg: ArgDef): string {
  const hint = "valueHint" in arg && arg.valueHint ? `=<${arg.valueHint}>` : "";
  if (arg.type === undefined || arg.type === "positional" || arg.type === "boolean") return hint;
  if (arg.type === "enum" && arg.options !== undefined && arg.options.length > 0) return `=<${arg.options.join("|")}>`;
  return hint || `=<${snakeCase(name)}>`;
}

/** `no-cache` or `noCache`: a flag that is a negation already gets no `--no-` twin. */
function negativeAlready(name: string): boolean {
  if (!name.startsWith("no") || name.length < 3) return false;
  const third = name[2]!;
  return third === "-" || (third >= "A" && third <= "Z");
}

/** `socket-path` and `socketPath` as `socket_path`. */
function snakeCase(name: string): string {
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const char = name[i]!;
    if (char === "-" || char === "_" || char === "/" || char === ".") out += "_";
    else if (char >= "A" && char <= "Z") out += (i > 0 && out[out.length - 1] !== "_" ? "_" : "") + char.toLowerCase();
    else out += char;
  }
  return out;
}

function join(text: string, note: string): string {
  return text === "" ? note : note === "" ? text : `${text} ${note}`;
}

/**
 * citty's columns: the first right-aligned, the others left-aligned (padded to the widest,
 * escape codes counted as it counts them), two spaces between, each cell after a two-space margin.
 */
function columns(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i] ?? 0, row[i]!.length);
  const out: string[] = [];
  for (const row of rows) {
    const cells: string[] = [];
    for (let i = 0; i < row.length; i++) cells.push(`  ${i === 0 ? row[i]!.padStart(widths[i]!) : row[i]!.padEnd(widths[i]!)}`);
    out.push(cells.join("  "));
  }
  return out.join("\n");
}
