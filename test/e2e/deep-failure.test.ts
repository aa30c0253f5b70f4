import { expect, test } from "bun:test";
import { serve } from "./_bash.ts";

// A failure at the bottom of a 10,000-deep chain, through the real binary: every reason
// names the first failure without repeating the chain, so what each command prints grows
// with the chain, not with its square (before, `list -o json` printed 1.6 GB).
const DEPTH = 10_000;
const MAX_OUTPUT_BYTES = 10 * 1024 * 1024;
// Longer than the server keeps: the worst case, a first reason of 1,000 characters.
const LONG_REASON = "r".repeat(2_000);
const QUOTED = `${"r".repeat(97)}...`;
const TOP_REASON = `dependency "a2" failed: ... 9,997 more failed dependencies ...: dependency "a${DEPTH}" failed: ${QUOTED}`;

const COMMANDS = [
  ["list", "-o", "json"],
  ["list"],
  ["status", "a1"],
  ["timeline"],
  ["timeline", "-o", "json"],
  ["graph"],
  ["graph", "-o", "json"],
  ["events"],
  ["events", "-o", "json"],
];

/** a1 -> a2 -> ... -> a<depth> over the HTTP API, 64 requests at a time: `unitsync want` 10,000 times would take a minute. */
async function declareChain(socketPath: string, depth: number): Promise<void> {
  const declare = async (unit: number) => {
    const response = await fetch(`http://unitsync/v1/units/a${unit}/dependencies`, {
      method: "POST",
      unix: socketPath,
      body: JSON.stringify({ depends_on: [`a${unit + 1}`] }),
    });
    if (!response.ok) throw new Error(`want a${unit}: ${await response.text()}`);
    await response.arrayBuffer();
  };
  for (let first = 1; first < depth; first += 64) {
    await Promise.all(Array.from({ length: Math.min(64, depth - first) }, (_, k) => declare(first + k)));
  }
}

test("a failure at the bottom of a 10,000-deep chain keeps every output under 10 MB", async () => {
  await using served = await serve();
  await declareChain(served.socketPath, DEPTH);
  const fail = await served.run("fail", `a${DEPTH}`, "--reason", LONG_REASON);
  const topLine = `unit "a1" failed: ${TOP_REASON}`;
  await served.server.waitForStderr(topLine, 30_000);

  const outputs: Record<string, { exitCode: number; stderr: string }> = {};
  const sizes: Record<string, number> = { "serve log": Buffer.byteLength(served.server.stderr) };
  let top: unknown;
  let status = "";
  for (const args of COMMANDS) {
    const { stdout, stderr, exitCode } = await served.run(...args);
    const name = args.join(" ");
    outputs[name] = { exitCode, stderr };
    sizes[name] = Buffer.byteLength(stdout);
    if (name === "list -o json") top = (JSON.parse(stdout) as Array<{ unit_name: string }>).find((u) => u.unit_name === "a1");
    if (name === "status a1") status = stdout;
  }
  const longestLogLine = Math.max(...served.server.stderr.split("\n").map((line) => line.length));

  expect({
    fail: fail.exitCode,
    outputs,
    oversized: Object.entries(sizes).filter(([, bytes]) => bytes >= MAX_OUTPUT_BYTES),
    top,
    status: status.split("\n")[3],
    longLogLines: longestLogLine > 2_100,
  }).toEqual({
    fail: 0,
    outputs: Object.fromEntries(COMMANDS.map((args) => [args.join(" "), { exitCode: 0, stderr: "" }])),
    oversized: [],
    top: expect.objectContaining({ unit_name: "a1", status: "failed", reason: TOP_REASON }),
    status: `Reason: ${TOP_REASON}`,
    longLogLines: false,
  });
}, 120_000);
