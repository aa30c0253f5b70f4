import { runCli } from "./cli/_runner.ts";
import { commands } from "./cli/commands.ts";
import { VERSION } from "./protocol/version.ts";

const exitCode = await runCli(
  {
    meta: {
      name: "unitsync",
      version: VERSION,
      description: "Order the start-up scripts of a workspace: units, dependencies and a server that wakes waiters at once",
    },
    subCommands: commands,
  },
  process.argv.slice(2),
);
process.exit(exitCode);
