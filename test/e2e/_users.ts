// Other local users for the permission and attack tests: `nobody`, or any uid, reached
// with setpriv. These need root; CI runs as root and installs setpriv.
import { describe, test } from "bun:test";
import { chmodSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, testEnv } from "../helpers.ts";
import { Child } from "./_bash.ts";

export const NOBODY = 65534;
export const USERS = 100; // Debian's "users" group

/** True when the tests can play other users; with UNITSYNC_TEST_TOOLS=required they must. */
export const canPlayOtherUsers = process.getuid?.() === 0 && Bun.which("setpriv") !== null;
export const otherUsersRequired = process.env.UNITSYNC_TEST_TOOLS === "required";

/**
 * `describe` for tests that play other users, guarded as `testNeeding` guards a tool:
 * skipped without root and setpriv, unless UNITSYNC_TEST_TOOLS=required (CI), where one
 * failing test says why instead of every test failing on its own.
 */
export function describeAsOtherUsers(name: string, body: () => void): void {
  if (canPlayOtherUsers) return void describe(name, body);
  if (!otherUsersRequired) return void describe.skip(`${name} (needs root and setpriv)`, body);
  describe(name, () => {
    test("can play other users", () => {
      throw new Error("these tests need root and setpriv, and UNITSYNC_TEST_TOOLS=required says they must run");
    });
  });
}

/** A world-readable place holding a copy of the binary, so that other users can run it. */
export function sharedBinary(dir: string): string {
  chmodSync(dir, 0o755);
  const binary = join(dir, "unitsync");
  copyFileSync(BINARY, binary);
  chmodSync(binary, 0o755);
  return binary;
}

/** A child running as `uid`, whose only group is `gid`. */
export function as(uid: number, gid: number, command: string[], env: Record<string, string> = {}): Child {
  return new Child(["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", ...command], { env: testEnv(env) });
}
