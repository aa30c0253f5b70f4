import type { CommandLoader } from "./_command.ts";

/** The only list of subcommands; each file loads when its command runs, and not before. */
export const commands: Record<string, CommandLoader> = {
  serve: () => import("./serve.ts").then((m) => m.default),
  ping: () => import("./ping.ts").then((m) => m.default),
  want: () => import("./want.ts").then((m) => m.default),
  start: () => import("./start.ts").then((m) => m.default),
  complete: () => import("./complete.ts").then((m) => m.default),
  fail: () => import("./fail.ts").then((m) => m.default),
  run: () => import("./run.ts").then((m) => m.default),
  status: () => import("./status.ts").then((m) => m.default),
  list: () => import("./list.ts").then((m) => m.default),
  events: () => import("./events.ts").then((m) => m.default),
  graph: () => import("./graph.ts").then((m) => m.default),
  timeline: () => import("./timeline.ts").then((m) => m.default),
  up: () => import("./up.ts").then((m) => m.default),
};
