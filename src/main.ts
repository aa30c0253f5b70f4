import { runCli } from "./cli/_runner.ts";
import { commands } from "./cli/commands.ts";
import { VERSION } from "./protocol/version.ts";

// Under the name `coder` (a link or a copy), the binary answers as Coder's CLI: loaded only then.
const calledAs = process.argv0.slice(process.argv0.lastIndexOf("/") + 1);
const exitCode =
  calledAs === "coder"
    ? await import("./cli/coder/index.ts").then((m) => m.runCoder(process.argv.slice(2)))
    : await runCli(
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
