import { clientArgs, clientOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { toDot, toMermaid } from "../render/graph.ts";
import { formatJson } from "../render/text.ts";
import { print } from "./_output.ts";
import { usageError } from "../protocol/index.ts";

export default defineCommand({
  meta: { name: "graph" },
  args: {
    output: {
      type: "enum",
      alias: "o",
      options: ["dot", "mermaid", "json"],
      default: "dot",
      valueHint: "dot|mermaid|json",
      description: "Output format (e.g. unitsync graph | dot -Tsvg > graph.svg)",
    },
    ...clientArgs,
  },
  usage: "[-o dot|mermaid|json]",
  async run(args) {
    if (args._.length > 0) throw usageError("graph takes no arguments");
    const graph = await clientOf(args).graph();
    const render = { dot: toDot, mermaid: toMermaid, json: formatJson }[args.output as "dot" | "mermaid" | "json"];
    await print(render(graph));
  },
});
