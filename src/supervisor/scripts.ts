import type { Palette } from "../render/color.ts";
import { usageError } from "../protocol/index.ts";

/** A start-up script to run: the name it is shown by, and how to run it. */
export interface Script {
  name: string;
  path: string;
  command: string[];
}

/** A file in a named directory that `up` did not run because it is not executable. */
export interface SkippedFile {
  name: string;
  path: string;
  /** The path as the user would type it: the directory as given, then the name. */
  shown: string;
}

/**
 * The scripts named on the command line, in order: a file is taken as it is (run
 * directly when executable, else by bash), a directory gives its executable files in
 * name order, as an agent runs a folder of start-up scripts. Its other files (but
 * `_helpers`) are returned as skipped, so `up` can name them: a missing `chmod +x` looks
 * like a deadlock.
 */
export async function findScripts(paths: readonly string[]): Promise<{ scripts: Script[]; skipped: SkippedFile[] }> {
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
  const skipped: SkippedFile[] = [];
  for (const given of paths) {
    const path = resolve(given);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      throw usageError(`no such script or directory: ${given}`);
    }
    if (stat.isDirectory()) {
      const files = readdirSync(path)
        .filter((name) => !name.startsWith("."))
        .sort()
        .filter((name) => statSync(join(path, name)).isFile());
      const found = files.filter((name) => executable(join(path, name)));
      if (found.length === 0) {
        const hint = files.length === 0 ? "" : `; ${files.length === 1 ? "1 file there is" : `${files.length} files there are`} not executable: chmod +x the scripts to run`;
        throw usageError(`no executable scripts in ${given}${hint}`);
      }
      for (const name of found) scripts.push({ name, path: join(path, name), command: [join(path, name)] });
      // `_env.sh` and the like are helpers the scripts source, not scripts left without `chmod +x`.
      for (const name of files.filter((name) => !found.includes(name) && !name.startsWith("_"))) {
        skipped.push({ name, path: join(path, name), shown: join(given, name) });
      }
    } else {
      scripts.push({ name: basename(path), path, command: executable(path) ? [path] : ["bash", path] });
    }
  }
  const seen = new Set<string>();
  for (const script of scripts) {
    if (seen.has(script.name)) throw usageError(`two scripts are named ${script.name}; give each a name of its own`);
    seen.add(script.name);
  }
  return { scripts, skipped };
}

/**
 * The skipped files that look as if they would have registered `unit`: their text calls
 * `unitsync start`, `run` or `want` with that name first. A guess, so callers say "perhaps".
 */
export async function skippedFor(unit: string, skipped: readonly SkippedFile[]): Promise<SkippedFile[]> {
  const escaped = unit.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const call = new RegExp(`(?:unitsync|coder\\s+exp\\s+sync)\\s+(?:start|run|want)\\s+["']?${escaped}["']?(?:\\s|$)`, "m");
  const found: SkippedFile[] = [];
  for (const file of skipped) {
    const text = await Bun.file(file.path)
      .text()
      .catch(() => "");
    if (call.test(text)) found.push(file);
  }
  return found;
}

const SCRIPT_COLORS = ["cyan", "magenta", "blue", "yellow", "green"] as const;

/** `name │ ` in the script's own colour (on a terminal), padded so every script's lines align. */
export function prefixer(names: readonly string[], palette: Palette): (name: string) => string {
  const width = Math.max(2, ...names.map((name) => name.length));
  const colorOf = new Map(names.map((name, index) => [name, palette[SCRIPT_COLORS[index % SCRIPT_COLORS.length]!]]));
  return (name) => `${(colorOf.get(name) ?? palette.dim)(name.padEnd(width))} │ `;
}
