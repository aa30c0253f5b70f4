import { expect, test } from "bun:test";
import { testServer, unitsync } from "../helpers.ts";

test("the native dialect takes Coder's habits: ping --quiet, -c columns, CODER_AGENT_SOCKET_PATH", async () => {
  await using server = await testServer();
  const env = { CODER_AGENT_SOCKET_PATH: server.socketPath };
  await unitsync(["want", "app", "db"], env);
  const [quiet, list, status, unknown] = await Promise.all([
    unitsync(["ping", "--quiet"], env),
    unitsync(["list", "-c", "status,unit"], env),
    unitsync(["status", "app", "--column", "depends on,satisfied"], env),
    unitsync(["list", "-c", "colour"], env),
  ]);
  expect([quiet.stdout, quiet.exitCode, list.stdout.split("\n")[0]!.trim(), status.stdout.includes("DEPENDS ON  SATISFIED"), unknown.exitCode, unknown.stderr.split(";")[0]]).toEqual([
    "Success\n",
    0,
    "STATUS   UNIT",
    true,
    2,
    'error: unknown column "colour"',
  ]);
});
