import type { CommandEntry } from "./_command.ts";

/**
 * The only list of subcommands, with each one's line for the root help: `--help` reads the
 * table, and a command's file loads when that command runs or shows its own help, not before.
 */
export const commands: Record<string, CommandEntry> = {
  serve: {
    description: "Run the server in the foreground; SIGINT or SIGTERM stops it and removes the socket",
    load: () => import("./serve.ts").then((m) => m.default),
  },
  ping: {
    description: "Check that a server answers, and show its version, socket path, uptime and unit count",
    load: () => import("./ping.ts").then((m) => m.default),
  },
  want: {
    description: "Declare that a unit depends on other units: it will not start before they complete",
    load: () => import("./want.ts").then((m) => m.default),
  },
  start: {
    description: "Wait until a unit's dependencies are satisfied, then mark it started",
    load: () => import("./start.ts").then((m) => m.default),
  },
  complete: {
    description: "Mark a unit completed (or failed, by exit code), optionally once a readiness probe passes",
    load: () => import("./complete.ts").then((m) => m.default),
  },
  fail: {
    description: "Mark a unit failed; units that need its success fail at once, with the reason",
    load: () => import("./fail.ts").then((m) => m.default),
  },
  target: {
    description: "Declare a target: a unit that completes by itself once every member it gathers has completed",
    load: () => import("./target.ts").then((m) => m.default),
  },
  first: {
    description: "Make every other unit, registered now or later, wait for this one (except what it needs itself)",
    load: () => import("./first.ts").then((m) => m.default),
  },
  run: {
    description: "Declare dependencies, wait for them, run a command, and record its outcome: the whole protocol in one line",
    load: () => import("./run.ts").then((m) => m.default),
  },
  lock: {
    description: "Run a command while holding a named lock; others wait their turn in order, and a killed holder never leaves it stale",
    load: () => import("./lock.ts").then((m) => m.default),
  },
  locks: {
    description: "Show every lock held or waited for: its holder, for how long, and its waiters in order",
    load: () => import("./locks.ts").then((m) => m.default),
  },
  status: {
    description: "Show a unit's status, whether it is ready, and each dependency's state",
    load: () => import("./status.ts").then((m) => m.default),
  },
  list: {
    description: "List every registered unit with its status and readiness",
    load: () => import("./list.ts").then((m) => m.default),
  },
  events: {
    description: "Show the server's event log; --follow keeps streaming new events as they happen",
    load: () => import("./events.ts").then((m) => m.default),
  },
  graph: {
    description: "Print the whole dependency graph: Graphviz DOT, Mermaid, or JSON",
    load: () => import("./graph.ts").then((m) => m.default),
  },
  timeline: {
    description: "Show when each unit waited, ran and ended, and the critical path that set the end",
    load: () => import("./timeline.ts").then((m) => m.default),
  },
  up: {
    description: "Run a workspace's start-up scripts in parallel, as the agent would, and report order, failures, deadlocks and timing",
    load: () => import("./up.ts").then((m) => m.default),
  },
  compare: {
    description: "Compare two start-up benchmarks (up --runs N --export-json) unit by unit, with a significance test",
    load: () => import("./compare.ts").then((m) => m.default),
  },
};
