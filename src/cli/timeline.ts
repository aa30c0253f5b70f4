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
      options: ["text", "json", "svg", "otlp"],
      default: "text",
      valueHint: "text|json|svg|otlp",
      description: "Output format (e.g. unitsync timeline -o svg > timeline.svg; otlp: the start-up's trace as OTLP JSON)",
    },
    ...clientArgs,
  },
  usage: "[-o text|json|svg|otlp]",
  async run(args) {
    if (args._.length > 0) throw usageError("timeline takes no arguments");
    if (args.output === "otlp") return void (await print(formatJson(await clientOf(args).trace())));
    const timeline = await clientOf(args).timeline();
    if (args.output === "json") return void (await print(formatJson(timeline)));
    if (args.output === "svg") {
      const { timelineSvg } = await import("../render/timeline-svg.ts");
      return void (await print(timelineSvg(timeline)));
    }
    await print(formatTimeline(timeline, paletteFor({ isTTY: isTerminal(1) }), outputColumns()));
  },
});
