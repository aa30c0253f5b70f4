import { usageError } from "../protocol/index.ts";
import type { BenchFile } from "../render/bench.ts";

/** `--runs 10`: a whole number from `min` up, or a usage error naming the flag. */
export function parseCount(text: string, flag: string, min: number): number {
  if (!/^\d{1,6}$/.test(text) || Number(text) < min) throw usageError(`${flag} must be a whole number from ${min}, not ${JSON.stringify(text)}`);
  return Number(text);
}

/** `--fail-if-slower 10` or `10%`: a percentage of 0 or more. */
export function parsePercent(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)%?$/.exec(text);
  if (!match) throw usageError(`${flag} must be a percentage such as 10 or 2.5%, not ${JSON.stringify(text)}`);
  return Number(match[1]);
}

/** Reads a benchmark file from `--export-json`; a missing or wrong file is a usage error (exit 2). */
export async function loadBenchFile(path: string): Promise<BenchFile> {
  const { readBenchFile } = await import("../render/bench.ts");
  let text: string;
  try {
    text = await Bun.file(path).text();
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw usageError(`cannot read ${path}: ${code === "ENOENT" ? "no such file" : (code ?? String(error))}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw usageError(`${path} is not JSON; give a file written by "unitsync up --runs N --export-json FILE"`);
  }
  return readBenchFile(json, path);
}
