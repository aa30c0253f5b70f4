// Targets and `first` next to Coder's scripts: a unitsync script may declare them on Coder's
// socket, and Coder's commands still answer in Coder's words, columns and exit codes.
import { expect, test } from "bun:test";
import { BINARY } from "../helpers.ts";
import { Child } from "../e2e/_bash.ts";
import { failed, ok, serveCoder } from "./_coder.ts";

test("Coder's list and status keep Coder's columns; a start of a target is refused in Coder's words", async () => {
  await using served = await serveCoder();
  const unitsync = (...args: string[]) => new Child([BINARY, ...args, "--socket-path", served.socketPath], { env: served.env }).result;
  await served.seed([["want", "claude", "git-clone"]]);
  expect((await unitsync("target", "git-clone", "fetch")).exitCode).toBe(0);
  expect((await unitsync("first", "apt-mirror")).stdout).toBe('Unit "apt-mirror" runs first: 1 unit waits for it\n');
  expect(await served.sync("list")).toEqual(
    ok("UNIT        STATUS   READY  ", "apt-mirror  pending  true   ", "claude      pending  false  ", "git-clone   pending  false  "),
  );
  expect(await served.sync("status", "claude")).toEqual(
    ok(
      "Unit: claude",
      "Status: pending",
      "Ready: false",
      "",
      "Dependencies:",
      "DEPENDS ON  REQUIRED STATUS  CURRENT STATUS  SATISFIED  ",
      "apt-mirror  completed        pending         false      ",
      "git-clone   completed        pending         false      ",
    ),
  );
  const refused = await served.sync("start", "git-clone");
  expect(refused).toEqual(
    failed(
      "start",
      'start unit failed: cannot start unit "git-clone": "git-clone" is a target and cannot be started: it completes by itself once all its members have completed',
    ),
  );
});
