import { clientArgs, clientOf } from "./_args.ts";
import { defineCommand } from "./_command.ts";
import { formatList } from "../render/text.ts";
import { print } from "./_output.ts";
import { refusedAs, unitArguments } from "./_units.ts";

export default defineCommand({
  meta: { name: "target" },
  args: {
    target: { type: "positional", description: "The target: it completes by itself once every member has completed" },
    member: { type: "positional", required: false, description: "Units (or targets) it gathers; more may be added until it completes" },
    ...clientArgs,
  },
  usage: "<target> [member...]",
  helpUsage: "<TARGET> [MEMBER...]",
  async run(args) {
    const [target, ...names] = unitArguments(args._, 1, Infinity, "a target name is required, then its members");
    const declared = await refusedAs("declare target failed", clientOf(args).target(target!, names));
    const { added, members } = declared;
    const inAll = added.length === members ? "" : ` (${members} in all)`;
    const gathered =
      members === 0 ? "has no members yet" : added.length === 0 ? `gathers no new members${inAll}` : `gathers members: ${formatList(added)}${inAll}`;
    const ended = declared.status === "pending" ? "" : `, and is ${declared.status}`;
    await print(`Target ${JSON.stringify(target)} ${gathered}${ended}`);
  },
});
