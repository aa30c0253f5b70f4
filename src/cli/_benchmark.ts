import { UnitsyncError, usageError } from "../protocol/index.ts";
import { benchFile, formatBench, formatBenchMarkdown } from "../render/bench.ts";
import { paletteFor } from "../render/color.ts";
import { compareBenchmarks, formatComparison, formatComparisonMarkdown, gateFailure } from "../render/compare.ts";
import { loadBenchFile } from "./_bench.ts";
import { exitCodeForBenchmark } from "./_exit.ts";
import { print, printError } from "./_output.ts";

export interface BenchmarkRequest {
  paths: string[];
  timeoutMs: number;
  socketPath?: string;
  timelineSvg?: string;
  runs: number;
  warmup: number;
  prepare?: string;
  cleanup?: string;
  exportJson?: string;
  exportMarkdown?: string;
  baseline?: string;
  failIfSlower?: number;
}

/**
 * `up --runs N`: the benchmark's figures on stdout (and the comparison with `--baseline`),
 * its files written, and its exit code. The baseline is read before the first run, so a
 * wrong file costs nothing.
 */
export async function benchmark(request: BenchmarkRequest): Promise<number> {
  if (request.failIfSlower !== undefined && request.baseline === undefined) {
    throw usageError("--fail-if-slower needs --baseline BASE.json (or use unitsync compare BASE.json NEW.json)");
  }
  const base = request.baseline === undefined ? undefined : await loadBenchFile(request.baseline);
  const { findScripts } = await import("../supervisor/scripts.ts");
  const { scripts, skipped } = await findScripts(request.paths);
  const { runBenchmark } = await import("../supervisor/bench.ts");
  const { runs, interrupted } = await runBenchmark({ ...request, scripts, skipped });
  if (interrupted) await printError(`interrupted: the figures cover the ${runs.length} runs measured before`);
  const file = benchFile(
    scripts.map((script) => script.name),
    request.warmup,
    runs,
  );
  const palette = paletteFor(process.stdout);
  let text = formatBench(file, palette);
  let markdown = formatBenchMarkdown(file);
  let gate: string | undefined;
  if (base) {
    const comparison = compareBenchmarks(base, file);
    text += `\n${formatComparison(comparison, palette)}`;
    markdown += `\n${formatComparisonMarkdown(comparison)}`;
    gate = request.failIfSlower === undefined ? undefined : gateFailure(comparison, request.failIfSlower);
  }
  await print(text.replace(/\n$/, ""));
  if (request.exportJson !== undefined) await save(request.exportJson, `${JSON.stringify(file, null, 2)}\n`, "--export-json");
  if (request.exportMarkdown !== undefined) await save(request.exportMarkdown, markdown, "--export-markdown");
  if (request.timelineSvg !== undefined) {
    const { benchSvg } = await import("../render/bench-svg.ts");
    await save(request.timelineSvg, benchSvg(file), "--timeline");
  }
  if (gate !== undefined) await printError(gate);
  return exitCodeForBenchmark({ interrupted, runsNotOk: file.summary.runs - file.summary.ok, slower: gate !== undefined });
}

/** Writes one of the benchmark's files; a path that cannot be written is one line, not a stack. */
async function save(path: string, text: string, flag: string): Promise<void> {
  try {
    await Bun.write(path, text);
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    throw new UnitsyncError("bad_request", `cannot write ${flag} ${path}: ${code ?? message}`);
  }
}
