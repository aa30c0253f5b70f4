// The floor of one hand-off in a chain whose scripts are all waiting (bench/chain.ts): a
// compiled Bun process that is already running, as a waiting `unitsync start` or `run` is,
// says "waiting", blocks until the previous link writes to its FIFO, runs the command given
// (if any) as `run` does, tells the next link through the next FIFO, and exits. What a link
// would cost if the server's wake-up and our client code cost nothing.
// Usage: handoff-floor PREVIOUS_FIFO|"" NEXT_FIFO|"" [COMMAND...]
import { readFileSync, writeFileSync } from "node:fs";

const [previous, next, ...command] = process.argv.slice(2);
await Bun.write(Bun.stdout, "waiting\n");
if (previous) readFileSync(previous);
if (command.length > 0) {
  const child = Bun.spawn(command, { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  if ((await child.exited) !== 0) process.exit(1);
}
if (next) writeFileSync(next, "go\n");
process.exit(0);
