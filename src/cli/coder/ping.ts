import { print } from "../_output.ts";
import { asCoder, clientOf, socketPathOf, type CoderCommand } from "./_dialect.ts";

export default {
  usage: "ping",
  description: "Check that the server on the agent socket answers",
  args: {},
  async run(args) {
    await asCoder(() => clientOf(args).ping(), "ping", "", socketPathOf(args));
    await print("Success");
  },
} satisfies CoderCommand;
