import { describe, expect, test } from "bun:test";
import { httpRequest, RawConnection, rawExchange } from "../raw-http.ts";
import { serve } from "./_bash.ts";

// The server's default limits, reached from bash through the real binary: a script that
// invents names or dependencies in a loop gets one clear line and exit code 1, and the
// server keeps serving what it already holds.
describe("limits", () => {
  test("100 clients follow the events, as the README says; the 101st is refused", async () => {
    await using served = await serve();
    const follow = httpRequest("GET", "/v1/events?follow=1");
    const followers = await Promise.all(Array.from({ length: 100 }, () => RawConnection.open(served.socketPath, follow)));
    try {
      await Promise.all(followers.map((follower) => follower.waitFor((c) => c.raw.startsWith("HTTP/1.1 200 "), "a follower accepted")));
      const refused = await rawExchange(served.socketPath, follow);
      expect({ status: refused.status, body: JSON.parse(refused.body) }).toEqual({
        status: 507,
        body: { error: { code: "limit_exceeded", message: "100 clients already follow the events, the most this server allows" } },
      });
    } finally {
      for (const follower of followers) follower.close();
    }
  });

  test("50,000 unit names: the next new name is refused, known names still work", async () => {
    await using served = await serve();
    const script = served.bash(`
      for hub in $(seq 0 9); do
        unitsync want "hub$hub" $(seq -f "u$hub-%g" 1 4999) >/dev/null
      done
      unitsync want hub0 brand-new || echo "exit $?"
      unitsync want hub0 u1-1
      unitsync start u1-1
    `);
    expect(await script.result).toEqual({
      stdout: 'exit 1\nUnit "hub0" declared dependencies: [u1-1]\nUnit "u1-1" started with no dependencies\n',
      stderr:
        "error: the server already knows 50000 unit names and holds at most 50000; is a script inventing names in a loop?\n",
      exitCode: 0,
    });
  });

  test("200,000 dependencies: the next new one is refused", async () => {
    await using served = await serve();
    const script = served.bash(`
      for hub in $(seq 1 40); do
        unitsync want "hub$hub" $(seq -f "u%g" 1 5000) >/dev/null
      done
      unitsync want hub41 u1 || echo "exit $?"
      unitsync want hub1 u1
    `);
    expect(await script.result).toEqual({
      stdout: 'exit 1\nUnit "hub1" declared dependencies: [u1]\n',
      stderr:
        "error: the server already holds 200000 dependencies and at most 200000; is a script declaring them in a loop?\n",
      exitCode: 0,
    });
  });
});

describe("requests the CLI refuses or the server cannot take", () => {
  test.each([".", ".."])("a unit named %j is a usage error, before anything is sent", async (name) => {
    await using served = await serve();
    expect(await served.run("start", name)).toEqual({
      stdout: "",
      stderr: `error: unit name "${name}" is not allowed: "." and ".." read as path steps in a URL\n`,
      exitCode: 2,
    });
  });

  test("a failure reason too long for a request says so", async () => {
    await using served = await serve();
    const script = served.bash(`unitsync fail u --reason "$(head -c 70000 /dev/zero | tr '\\0' r)"`);
    expect(await script.result).toEqual({ stdout: "", stderr: "error: request body is larger than 65536 bytes\n", exitCode: 1 });
  });
});
