import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type RunningServer, type ServerOptions } from "../src/server/index.ts";

/** The binary the end-to-end tests run, built by the preload from the current sources. */
export const BINARY = join(import.meta.dir, "..", "dist", "test", "unitsync");

/** A fresh private directory, removed when the test's `using` scope ends. */
export function tempDir(): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), "unitsync-test-"));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** An in-process server on a private socket, stopped when the `await using` scope ends. */
export async function testServer(
  options: Omit<ServerOptions, "socketPath"> = {},
): Promise<RunningServer & { dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = tempDir();
  const server = await startServer({ ...options, socketPath: join(dir.path, "unitsync.sock") });
  return Object.assign(server, {
    dir: dir.path,
    [Symbol.asyncDispose]: async () => {
      await server.stop();
      dir[Symbol.dispose]();
    },
  });
}

export interface Result {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * The environment every spawned binary gets: no colour, no inherited socket path, and no
 * waiting reports (tests of the reports turn them back on), so outputs stay exact.
 */
export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NO_COLOR: "1",
    UNITSYNC_REPORT_EVERY: "0",
    ...extra,
  };
  if (!("UNITSYNC_SOCKET_PATH" in extra)) delete env.UNITSYNC_SOCKET_PATH;
  // The default socket path depends on it; tests that mean it set it.
  if (!("XDG_RUNTIME_DIR" in extra)) delete env.XDG_RUNTIME_DIR;
  return env;
}

/** Runs the compiled binary to completion and returns what it printed and its exit code. */
export async function unitsync(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const child = Bun.spawn([BINARY, ...args], { env: testEnv(env), stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { stdout, stderr, exitCode };
}

/** Waits until `condition` holds, checking on every turn of the event loop; fails after `ms`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, ms = 10_000, what = "condition"): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(1);
  }
}

/** An RFC 3339 time with milliseconds, as every timestamp on the wire is. */
export const TIME = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

/** A W3C traceparent, as `start` hands one out for the unit's span. */
export const TRACEPARENT = expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

/** Parsed JSON without its `*_at` timestamps, for tests about everything else. */
export function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !key.endsWith("_at"))
      .map(([key, inner]) => [key, withoutTimes(inner)]),
  );
}

/**
 * `test` for a test that needs an external `tool` (dot, rsvg-convert, tmux, python3) on PATH. Without the
 * tool the test is skipped, unless UNITSYNC_TEST_TOOLS=required (CI, which installs them):
 * then a missing tool fails the test instead of hiding it.
 */
export function testNeeding(tool: string): (name: string, body: () => Promise<void>) => void {
  const present = Bun.which(tool) !== null;
  const required = process.env.UNITSYNC_TEST_TOOLS === "required";
  return (name, body) =>
    test.skipIf(!present && !required)(`${name} (needs ${tool})`, async () => {
      if (!present) throw new Error(`${tool} is not on PATH, and UNITSYNC_TEST_TOOLS=required says it must be`);
      await body();
    });
}
