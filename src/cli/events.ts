import { clientArgs, clientOf, rideOverOf } from "./_args.ts";
import { paletteFor } from "../render/color.ts";
import { defineCommand } from "./_command.ts";
import { formatEventLine } from "../render/events.ts";
import { formatJson } from "../render/text.ts";
import { print, printError } from "./_output.ts";
import { usageError } from "../protocol/index.ts";

export default defineCommand({
  meta: { name: "events" },
  args: {
    follow: { type: "boolean", alias: "f", description: "Stay connected and print each new event (Ctrl-C stops)" },
    after: { type: "string", valueHint: "N", description: "Only events numbered above N (each event has a seq number)" },
    output: {
      type: "enum",
      alias: "o",
      options: ["text", "json"],
      default: "text",
      valueHint: "text|json",
      description: "Output format; json is one array, or one event per line with --follow",
    },
    ...clientArgs,
  },
  usage: "[--follow] [--after N] [-o text|json]",
  async run(args) {
    if (args._.length > 0) throw usageError("events takes no arguments");
    const after = args.after === undefined ? 0 : Number(args.after);
    if (!Number.isInteger(after) || after < 0) {
      throw usageError(`invalid value ${JSON.stringify(args.after)} for --after: use an event number, 0 or more`);
    }
    const client = clientOf(args);
    const palette = paletteFor(process.stdout);
    const json = args.output === "json";
    if (args.follow) {
      // Across a restart of the server: on from the last event seen when it recovered its
      // journal (numbers go on), from the first when it started empty (numbers start over).
      let last = after;
      await client.riding(rideOverOf(args, printError), Infinity, async (resumed) => {
        if (resumed && !(await client.ping()).recovered) {
          await printError("the server started empty; following its events from the first");
          last = 0;
        }
        return client.followEvents(last, (event) => {
          last = event.seq;
          return print(json ? JSON.stringify(event) : formatEventLine(event, palette));
        });
      });
    }
    const events = await client.events(after);
    if (json) return void (await print(formatJson(events)));
    if (events.length === 0) return void (await print("No events yet"));
    await print(events.map((event) => formatEventLine(event, palette)).join("\n"));
  },
});
