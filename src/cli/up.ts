import { usageError } from "../protocol/index.ts";
import { parseCount, parsePercent } from "./_bench.ts";
import { defineCommand } from "./_command.ts";
import { parseDuration } from "./_duration.ts";
import { exitCodeForStartup } from "./_exit.ts";

/** Flags that make `up` a benchmark (with 10 runs unless `--runs` says otherwise). */
const BENCHMARK_FLAGS = ["runs", "warmup", "prepare", "cleanup", "export-json", "export-markdown", "baseline", "fail-if-slower"] as const;

export default defineCommand({
  meta: { name: "up" },
  args: {
    scripts: { type: "positional", description: "Script files, or directories whose executable files run (in name order)" },
    timeout: {
      type: "string",
      default: "10m",
      valueHint: "DURATION",
      description: "Stop every script when start-up takes longer than this (each run, with --runs); 0 for no limit",
    },
    timeline: {
      type: "string",
      valueHint: "FILE.svg",
      description: "Also save the timeline as an SVG picture (with --runs: the spread of each unit's wait and run)",
    },
    runs: {
      type: "string",
      valueHint: "N",
      description: "Benchmark: run the whole start-up N times, each on a fresh server, and report each unit's figures (default 10)",
    },
    warmup: { type: "string", valueHint: "K", description: "Benchmark: K unmeasured runs first (default 0)" },
    prepare: { type: "string", valueHint: "CMD", description: "Benchmark: run CMD with sh before each run (reset the work tree)" },
    cleanup: { type: "string", valueHint: "CMD", description: "Benchmark: run CMD with sh after each run" },
    "export-json": { type: "string", valueHint: "FILE", description: "Benchmark: save every run and the figures as JSON (for compare and --baseline)" },
    "export-markdown": { type: "string", valueHint: "FILE", description: "Benchmark: save the figures as a Markdown table (a CI job summary)" },
    baseline: { type: "string", valueHint: "BASE.json", description: "Benchmark: compare with an earlier --export-json, unit by unit" },
    "fail-if-slower": {
      type: "string",
      valueHint: "PCT",
      description: "With --baseline: exit 1 when the start-up is slower by more than PCT percent, and significantly",
    },
    // Its own description: up serves on a private socket, and never reads $UNITSYNC_SOCKET_PATH.
    "socket-path": {
      type: "string",
      valueHint: "PATH",
      description: "Serve the scripts on this socket (default: a private socket of its own; $UNITSYNC_SOCKET_PATH is not read)",
    },
  },
  // The short form error messages end with; --help lists the benchmark's flags.
  usage: "[--timeout 10m] [--timeline FILE.svg] SCRIPT|DIR...",
  helpUsage: "SCRIPT|DIR...",
  async run(args) {
    if (args._.length === 0) throw usageError("name at least one script or directory of scripts");
    const timeoutMs = parseDuration(String(args.timeout), "--timeout", "means no limit");
    const socketPath = typeof args["socket-path"] === "string" ? args["socket-path"] : undefined;
    const timelineSvg = typeof args.timeline === "string" ? args.timeline : undefined;
    if (BENCHMARK_FLAGS.some((flag) => args[flag] !== undefined)) {
      const { benchmark } = await import("./_benchmark.ts");
      return benchmark({
        paths: args._,
        timeoutMs,
        socketPath,
        timelineSvg,
        runs: parseCount(String(args.runs ?? "10"), "--runs", 1),
        warmup: parseCount(String(args.warmup ?? "0"), "--warmup", 0),
        prepare: args.prepare as string | undefined,
        cleanup: args.cleanup as string | undefined,
        exportJson: args["export-json"] as string | undefined,
        exportMarkdown: args["export-markdown"] as string | undefined,
        baseline: args.baseline as string | undefined,
        failIfSlower: args["fail-if-slower"] === undefined ? undefined : parsePercent(String(args["fail-if-slower"]), "--fail-if-slower"),
      });
    }
    const { findScripts } = await import("../supervisor/scripts.ts");
    const { scripts, skipped } = await findScripts(args._);
    const { runStartup } = await import("../supervisor/supervisor.ts");
    const outcome = await runStartup({ scripts, skipped, timeoutMs, socketPath, timelineSvg });
    return exitCodeForStartup(outcome);
  },
});
