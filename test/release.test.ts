import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { buildRelease, RELEASE_TARGETS, sha256 } from "../build.ts";
import packageJson from "../package.json" with { type: "json" };
import { readElf } from "./elf.ts";
import { tempDir, testEnv } from "./helpers.ts";

// One release build for the whole file: four cross compiles, about 100 MB each. The first run
// on a fresh machine also fetches Bun's runtimes for the other targets from the npm registry.
const dir = tempDir();
let binaries: string[] = [];
beforeAll(async () => {
  binaries = await buildRelease(dir.path);
}, 300_000);
afterAll(() => dir[Symbol.dispose]());

const MACHINE = { x64: "x86-64", arm64: "aarch64" }[process.arch as string];

describe("release binaries", () => {
  test("one per target, and nothing else but SHA256SUMS", async () => {
    const { readdir } = await import("node:fs/promises");
    expect((await readdir(dir.path)).sort()).toEqual([...RELEASE_TARGETS.map((t) => t.file), "SHA256SUMS"].sort());
    expect(binaries.map((file) => basename(file))).toEqual(RELEASE_TARGETS.map((t) => t.file));
  });

  test.each(RELEASE_TARGETS.map((target) => [target.file, target] as const))(
    "%s is an ELF binary for its machine and C library",
    async (file, target) => {
      const musl = target.target.endsWith("-musl");
      const elf = await readElf(join(dir.path, file));
      expect({ machine: elf.machine, interpreter: elf.interpreter }).toEqual({
        machine: target.machine,
        interpreter: target.interpreter,
      });
      // What the README's table of image bases promises: glibc images need nothing more;
      // Alpine needs libstdc++ (and with it libgcc) installed.
      if (musl) expect(elf.needed).toEqual(expect.arrayContaining(["libstdc++.so.6", expect.stringMatching(/^libc\.musl-/)]));
      else expect(elf.needed).toContain("libc.so.6");
      expect(elf.needed.some((library) => library.startsWith("libstdc++"))).toBe(musl);
    },
  );

  test("SHA256SUMS lists every binary with its hash, as sha256sum -c reads it", async () => {
    const lines = (await Bun.file(join(dir.path, "SHA256SUMS")).text()).trimEnd().split("\n");
    const expected = await Promise.all(RELEASE_TARGETS.map(async ({ file }) => `${await sha256(join(dir.path, file))}  ${file}`));
    expect(lines).toEqual(expected);
    expect(lines.every((line) => /^[0-9a-f]{64} {2}unitsync-linux-/.test(line))).toBe(true);
  });

  // The binary built for this machine's architecture and C library, if it ships one.
  const host = RELEASE_TARGETS.find((t) => t.machine === MACHINE && existsSync(t.interpreter) && !t.target.endsWith("-musl"));

  test.skipIf(!host)("the one for this machine runs: version, then a unit waited on from bash", async () => {
    const binary = join(dir.path, host!.file);
    const version = Bun.spawnSync([binary, "--version"], { env: testEnv() });
    expect({ stdout: version.stdout.toString(), exitCode: version.exitCode }).toEqual({
      stdout: `unitsync ${packageJson.version}\n`,
      exitCode: 0,
    });

    using work = tempDir();
    const socket = join(work.path, "unitsync.sock");
    const script = `
      set -e
      "$U" serve --socket-path "$S" 2>/dev/null &
      server=$!
      trap 'kill $server' EXIT
      "$U" ping --socket-path "$S" --wait-for-server 10s >/dev/null
      "$U" want --socket-path "$S" app db
      "$U" start --socket-path "$S" app &
      waiter=$!
      "$U" start --socket-path "$S" db
      "$U" complete --socket-path "$S" db
      wait $waiter
      "$U" status --socket-path "$S" app -o json
    `;
    const run = Bun.spawnSync(["bash", "-c", script], { env: testEnv({ U: binary, S: socket }) });
    const lines = run.stdout.toString().split("\n");
    expect({ exitCode: run.exitCode, printed: lines.slice(0, 5).sort(), status: JSON.parse(lines.slice(5).join("\n")).status }).toEqual({
      exitCode: 0,
      // The waiter runs in the background: its lines interleave with the others'.
      printed: [
        "Success",
        'Unit "app" declared dependencies: [db]',
        'Unit "app" finished waiting for dependencies: [db]',
        'Unit "app" is waiting for dependencies to be satisfied: [db]',
        'Unit "db" started with no dependencies',
      ],
      status: "started",
    });
  });
});
