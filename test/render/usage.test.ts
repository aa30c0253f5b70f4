import { expect, test } from "bun:test";
import type { ArgsDef } from "citty";
import { commands } from "../../src/cli/commands.ts";
import { renderUsage, type UsageSource } from "../../src/render/usage.ts";

// citty decides on colour when it loads: without colour here, as for a pipe.
process.env.NO_COLOR = "1";
const citty = await import("citty");

/** What citty itself renders for the same definitions: the layout ours keeps. */
async function cittys({ name, parent, version, description, args, commands: subs }: UsageSource): Promise<string> {
  const subCommands = subs && Object.fromEntries(Object.entries(subs).map(([sub, { description }]) => [sub, { meta: { name: sub, description } }]));
  const parentDef = parent === undefined ? undefined : { meta: { name: parent, version } };
  return citty.renderUsage({ meta: { name, description, ...(parent === undefined ? { version } : {}) }, args, subCommands }, parentDef);
}

const demo: UsageSource = {
  name: "demo",
  parent: "unitsync",
  version: "1.2.3",
  description: "Does a demo",
  args: {
    unit: { type: "positional", description: "The unit" },
    extra: { type: "positional", required: false, description: "More" },
    "socket-path": { type: "string", description: "Where" },
    format: { type: "enum", options: ["text", "json"], default: "text", description: "How" },
    cache: { type: "boolean", default: true, description: "Keep a cache", negativeDescription: "Keep none" },
    "no-wait": { type: "boolean", default: true, description: "Skip waiting" },
    retryCount: { type: "string", description: "How often" },
    name: { type: "string", required: true, alias: ["n"], valueHint: "NAME", description: "Who" },
  },
};

test("every field kind renders as citty renders it: positionals, hints, enums, defaults, negations, aliases", async () => {
  expect(renderUsage(demo, false)).toBe(await cittys(demo));
});

test("the root and every command's help render as citty renders them", async () => {
  const root: UsageSource = { name: "unitsync", version: "1.2.3", description: "Root", args: {}, commands: Object.fromEntries(Object.entries(commands).map(([name, { description }]) => [name, { description }])) };
  expect(renderUsage(root, false)).toBe(await cittys(root));
  for (const [name, entry] of Object.entries(commands)) {
    const { args } = await entry.load();
    const source: UsageSource = { name, parent: "unitsync", version: "1.2.3", description: entry.description, args: args as ArgsDef };
    expect(renderUsage(source, false)).toBe(await cittys(source));
  }
});

test("on a terminal: cyan names, grey notes, bold underlined headings; never without one", () => {
  const text = renderUsage(demo, true);
  expect(text).toContain("\u001B[4m\u001B[1mUSAGE\u001B[22m\u001B[24m");
  expect(text).toContain("\u001B[36mUNIT\u001B[39m");
  expect(text).toContain("\u001B[90m(Required)\u001B[39m");
  expect(renderUsage(demo, false)).not.toContain("\u001B");
});
