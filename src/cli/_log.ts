import type { ConsolaInstance, ConsolaReporter } from "consola/core";
import { clockTime } from "./_output.ts";

/**
 * A consola logger for long-running commands, writing `HH:MM:SS.mmm level message` to stderr.
 * Built on consola/core with our own one-line reporter: consola/basic pulls in node:util,
 * which the bundler hoists into the entry and which cost every client command about 2 ms.
 */
export async function createLogger(): Promise<ConsolaInstance> {
  const { createConsola } = await import("consola/core");
  const reporter: ConsolaReporter = {
    log(entry) {
      const time = clockTime(entry.date);
      process.stderr.write(`${time} ${entry.type.padEnd(5)} ${entry.args.map(String).join(" ")}\n`);
    },
  };
  // throttle 0: every unit event matters, even when two lines look alike.
  return createConsola({ reporters: [reporter], throttle: 0 });
}
