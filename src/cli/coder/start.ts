import { formatList } from "../../render/text.ts";
import { askerOf, rideOverOf } from "../_args.ts";
import { parseDuration } from "../_duration.ts";
import { print, printError } from "../_output.ts";
import { asCoder, clientOf, CoderFailure, emptyNameFailure, quoted, socketPathOf, type CoderCommand } from "./_dialect.ts";

export default {
  usage: "start [flags] <unit>",
  description: "Wait until a unit's dependencies have completed, then mark it started",
  args: {
    timeout: { type: "string", default: "5m", valueHint: "duration", description: "Longest wait for the dependencies, e.g. 30s or 5m; 0 or less waits for ever" },
  },
  async run(args) {
    if (args._.length !== 1) throw new CoderFailure("exactly one unit name is required");
    const unit = args._[0]!;
    if (unit === "") throw emptyNameFailure("start");
    const text = String(args.timeout);
    // Go's durations may be negative, which Coder reads as no deadline.
    const timeoutMs = text.startsWith("-") ? 0 : parseDuration(text, "--timeout");
    const name = quoted(unit);
    let waited = false;
    const started = await asCoder(
      () =>
        clientOf(args).start(unit, {
          timeoutMs,
          progressMs: 0,
          // Under `up`, which script asks: its summary and deadlock reports name it.
          asker: askerOf(),
          // unitsync's own: a server that goes away is waited for, as unitsync's start does
          // (Coder's agent forgets everything on a restart; unitsync's server does not).
          rideOver: rideOverOf(args, printError),
          // Coder says it once; unitsync's later lines (the wait grew) and reports stay unsaid.
          onWaiting: async (line) => {
            if (line.type !== "waiting" || waited) return;
            waited = true;
            await print(`Unit ${name} is waiting for dependencies to be satisfied: ${formatList(line.unsatisfied)}`);
          },
        }),
      "start",
      unit,
      socketPathOf(args),
    );
    if (started.waited_for.length > 0) {
      await print(`Unit ${name} finished waiting for dependencies: ${formatList(started.waited_for)}`);
    } else if (started.dependencies.length > 0) {
      await print(`Unit ${name} started immediately, dependencies already satisfied: ${formatList(started.dependencies)}`);
    } else {
      await print(`Unit ${name} started with no dependencies`);
    }
  },
} satisfies CoderCommand;
