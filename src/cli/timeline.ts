import { clientArgs, clientOf } from "./_args.ts";
import { paletteFor } from "../render/color.ts";
import { isTerminal } from "../render/terminal.ts";
import { defineCommand } from "./_command.ts";
import { formatJson } from "../render/text.ts";
import { print } from "./_output.ts";
import { usageError } from "../protocol/index.ts";
import { formatTimeline, outputColumns } from "../render/timeline.ts";

export default defineCommand({
  meta: { name: "timeline" },
  args: {
    output: {
      type: "enum",
      alias: "o",
      options: ["text", "json", "svg"],
      default: "text",
      valueHint: "text|json|svg",
      description: "Output format (e.g. unitsync timeline -o svg > timeline.svg)",
    },
    ...clientArgs,
  },
  usage: "[-o text|json|svg]",
  async run(args) {
    if (args._.length > 0) throw usageError("timeline takes no arguments");
    const timeline = await clientOf(args).timeline();
    if (args.output === "json") return void (await print(formatJson(timeline)));
    if (args.output === "svg") {
      const { timelineSvg } = await import("../render/timeline-svg.ts");
      return void (await print(timelineSvg(timeline)));
    }
    await print(formatTimeline(timeline, paletteFor({ isTTY: isTerminal(1) }), outputColumns()));
  },
});
