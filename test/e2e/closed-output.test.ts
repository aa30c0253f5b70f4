// Output that nobody reads: a command whose stdout reader went away (`unitsync list | head -1`)
// ends quietly with 141, as a Unix tool that SIGPIPE ends; one that cannot write for another
// reason says so in one line. Never a stack trace.
import { describe, expect, test } from "bun:test";
import type { Result } from "../helpers.ts";
import { serve, type Served } from "./_bash.ts";

/**
 * Runs `unitsync ARGS` with stdout (or stderr) on a pipe whose only reader has closed: a FIFO
 * opened for reading and writing, a second write end, then the read end closed. The first
 * write fails with EPIPE, every time, with no race against a reader such as `head`.
 */
function withoutReader(served: Served, args: string[], stream: 1 | 2 = 1): Promise<Result> {
  const quoted = args.map((arg) => `'${arg}'`).join(" ");
  return served.bash(`mkfifo gone.fifo\nexec 3<>gone.fifo 4>gone.fifo 3<&-\nrm gone.fifo\nexec unitsync ${quoted} ${stream}>&4 4>&-`).result;
}

const quiet: Result = { stdout: "", stderr: "", exitCode: 141 };

describe("a stdout nobody reads", () => {
  test.each(
    [
      ["list"],
      ["list", "-o", "json"],
      ["status", "a"],
      ["ping"],
      ["events"],
      ["events", "--follow"],
      ["graph"],
      ["timeline"],
      ["--help"],
      ["list", "--help"],
      ["--version"],
    ].map((args) => ({ command: args.join(" "), args })),
  )("$command ends quietly with 141", async ({ args }) => {
    await using served = await serve();
    await served.run("want", "a", "b");
    expect(await withoutReader(served, args)).toEqual(quiet);
  });

  test("a change is made before the reader is missed: want and complete take effect, then exit 141", async () => {
    await using served = await serve();
    const want = await withoutReader(served, ["want", "a", "b"]);
    await served.run("start", "b");
    const results = [want, await withoutReader(served, ["complete", "b"])];
    expect({ results, list: (await served.run("list")).stdout }).toEqual({
      results: [quiet, quiet],
      list: "UNIT  STATUS     READY  \na     pending    true   \nb     completed  true   \n",
    });
  });

  test("a waiting start ends at its waiting line; its unit stays pending", async () => {
    await using served = await serve();
    await served.run("want", "a", "b");
    const start = await withoutReader(served, ["start", "a"]);
    expect({ start, status: JSON.parse((await served.run("status", "a", "-o", "json")).stdout).status }).toEqual({
      start: quiet,
      status: "pending",
    });
  });
});

describe("a stderr nobody reads", () => {
  test("an error has nowhere to go: the exit code alone says it", async () => {
    await using served = await serve();
    expect(await withoutReader(served, ["start", "a", "--timeout", "nope"], 2)).toEqual({ stdout: "", stderr: "", exitCode: 2 });
  });
});

describe("a stdout that cannot be written", () => {
  test("a full device: one error line, exit 1", async () => {
    await using served = await serve();
    await served.run("want", "a", "b");
    expect(await served.bash("exec unitsync list > /dev/full").result).toEqual({
      stdout: "",
      stderr: "error: cannot write to stdout: ENOSPC: no space left on device, write\n",
      exitCode: 1,
    });
  });
});

describe("a stdout read slowly", () => {
  // Bun 1.4.5's Bun.write on a non-blocking pipe that fills retried a cut-short write from its
  // start: a slow reader got the first 64 KiB twice. Every command's large answer, every byte once.
  test.each([["events", "-o", "json"], ["list", "-o", "json"], ["timeline", "-o", "json"], ["graph", "-o", "json"]])(
    "%s %s %s: a large answer arrives whole through a pipe that fills",
    async (...args) => {
      await using served = await serve();
      for (let i = 0; i < 700; i++) {
        const body = JSON.stringify({ depends_on: [`dependency-number-${i}`, `another-dependency-${i}`] });
        const answer = await fetch(`http://unitsync/v1/units/unit-number-${i}/dependencies`, { method: "POST", unix: served.socketPath, body } as RequestInit);
        expect(answer.status).toBe(200);
      }
      const { stdout, exitCode } = await served.bash(`unitsync ${args.join(" ")} | { sleep 0.3; cat; }`).result;
      expect(exitCode).toBe(0);
      expect(stdout.length).toBeGreaterThan(65_536);
      expect(() => JSON.parse(stdout)).not.toThrow();
    },
  );
});
