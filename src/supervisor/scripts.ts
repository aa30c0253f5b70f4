import type { Palette } from "../render/color.ts";
import { usageError } from "../protocol/index.ts";

/** A start-up script to run: the name it is shown by, and how to run it. */
export interface Script {
  name: string;
  path: string;
  command: string[];
}

/**
 * The scripts named on the command line, in order: a file is taken as it is (run
 * directly when executable, else by bash), a directory gives its executable files in
 * name order, as an agent runs a folder of start-up scripts.
 */
export async function findScripts(paths: readonly string[]): Promise<Script[]> {
  const { accessSync, constants, readdirSync, statSync } = await import("node:fs");
  const { basename, join, resolve } = await import("node:path");
  const executable = (path: string) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const scripts: Script[] = [];
  for (const given of paths) {
    const path = resolve(given);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw usageError(`no such script or directory: ${given}`);
    }
    if (stat.isDirectory()) {
      const found = readdirSync(path)
        .filter((name) => !name.startsWith("."))
        .sort()
        .map((name) => join(path, name))
        .filter((file) => statSync(file).isFile() && executable(file));
      if (found.length === 0) throw usageError(`no executable scripts in ${given}`);
      for (const file of found) scripts.push({ name: basename(file), path: file, command: [file] });
    } else {
      scripts.push({ name: basename(path), path, command: executable(path) ? [path] : ["bash", path] });
    }
  }
  const seen = new Set<string>();
  for (const script of scripts) {
    if (seen.has(script.name)) throw usageError(`two scripts are named ${script.name}; give each a name of its own`);
    seen.add(script.name);
  }
  return scripts;
}

const SCRIPT_COLORS = ["cyan", "magenta", "blue", "yellow", "green"] as const;

/** `name │ ` in the script's own colour (on a terminal), padded so every script's lines align. */
export function prefixer(names: readonly string[], palette: Palette): (name: string) => string {
  const width = Math.max(2, ...names.map((name) => name.length));
  const colorOf = new Map(names.map((name, index) => [name, palette[SCRIPT_COLORS[index % SCRIPT_COLORS.length]!]]));
  return (name) => `${(colorOf.get(name) ?? palette.dim)(name.padEnd(width))} │ `;
}
