import { usageError } from "../protocol/index.ts";
import { loadBenchFile, parsePercent } from "./_bench.ts";
import { defineCommand } from "./_command.ts";
import { EXIT } from "./_exit.ts";
import { print, printError } from "./_output.ts";

export default defineCommand({
  meta: { name: "compare" },
  args: {
    files: { type: "positional", description: "Two files written by up --runs N --export-json FILE: the base, then the new one" },
    "fail-if-slower": {
      type: "string",
      valueHint: "PCT",
      description: "Exit 1 when the start-up is slower by more than PCT percent, and significantly (a CI gate)",
    },
    output: {
      type: "enum",
      alias: "o",
      options: ["text", "markdown", "json"],
      default: "text",
      valueHint: "text|markdown|json",
      description: "Output format",
    },
  },
  usage: "[--fail-if-slower PCT] [-o text|markdown|json] BASE.json NEW.json",
  helpUsage: "BASE.json NEW.json",
  async run(args) {
    if (args._.length !== 2) throw usageError("give two benchmark files: the base, then the new one");
    const failIfSlower = args["fail-if-slower"] === undefined ? undefined : parsePercent(String(args["fail-if-slower"]), "--fail-if-slower");
    const [base, next] = await Promise.all(args._.map((path) => loadBenchFile(path)));
    const { compareBenchmarks, formatComparison, formatComparisonMarkdown, gateFailure } = await import("../render/compare.ts");
    const comparison = compareBenchmarks(base!, next!);
    if (args.output === "json") {
      const { formatJson } = await import("../render/text.ts");
      await print(formatJson(comparison));
    } else if (args.output === "markdown") {
      await print(formatComparisonMarkdown(comparison));
    } else {
      const { paletteFor } = await import("../render/color.ts");
      await print(formatComparison(comparison, paletteFor(process.stdout)));
    }
    const failure = failIfSlower === undefined ? undefined : gateFailure(comparison, failIfSlower);
    if (failure === undefined) return EXIT.ok;
    await printError(failure);
    return EXIT.refused;
  },
});
