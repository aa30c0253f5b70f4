import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UnitsyncError } from "../../src/protocol/index.ts";
import { findScripts, skippedFor } from "../../src/supervisor/scripts.ts";
import { tempDir } from "../helpers.ts";

function write(path: string, text: string, executable: boolean): void {
  writeFileSync(path, text);
  chmodSync(path, executable ? 0o755 : 0o644);
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof UnitsyncError)) throw new Error(`expected a UnitsyncError, got ${String(error)}`);
  return { code: error.code, message: error.message };
}

describe("findScripts", () => {
  test("a directory gives its executable files in name order; others but helpers and dot files are skipped", async () => {
    using dir = tempDir();
    const scripts = join(dir.path, "scripts");
    mkdirSync(scripts);
    write(join(scripts, "20-deps.sh"), "true\n", true);
    write(join(scripts, "10-clone.sh"), "true\n", true);
    write(join(scripts, "30-agent.sh"), "unitsync start agent\n", false);
    write(join(scripts, "_env.sh"), "export A=1\n", false);
    write(join(scripts, ".hidden.sh"), "true\n", true);
    mkdirSync(join(scripts, "lib"));
    const found = await findScripts([scripts]);
    expect({
      scripts: found.scripts.map((s) => [s.name, s.command]),
      skipped: found.skipped.map((s) => [s.name, s.shown]),
    }).toEqual({
      scripts: [
        ["10-clone.sh", [join(scripts, "10-clone.sh")]],
        ["20-deps.sh", [join(scripts, "20-deps.sh")]],
      ],
      skipped: [["30-agent.sh", join(scripts, "30-agent.sh")]],
    });
  });

  test("a file named on its own runs directly when executable, else through bash", async () => {
    using dir = tempDir();
    write(join(dir.path, "a.sh"), "true\n", true);
    write(join(dir.path, "b.sh"), "true\n", false);
    const { scripts, skipped } = await findScripts([join(dir.path, "a.sh"), join(dir.path, "b.sh")]);
    expect({ commands: scripts.map((s) => s.command), skipped }).toEqual({
      commands: [[join(dir.path, "a.sh")], ["bash", join(dir.path, "b.sh")]],
      skipped: [],
    });
  });

  test("refuses what cannot run: nothing there, no executable file, two scripts of one name", async () => {
    using dir = tempDir();
    const bare = join(dir.path, "bare");
    mkdirSync(bare);
    write(join(bare, "one.sh"), "true\n", false);
    write(join(bare, "two.sh"), "true\n", false);
    mkdirSync(join(dir.path, "other"));
    write(join(dir.path, "other", "one.sh"), "true\n", true);
    write(join(dir.path, "one.sh"), "true\n", true);
    expect([
      await refusal(findScripts([join(dir.path, "missing")])),
      await refusal(findScripts([bare])),
      await refusal(findScripts([join(dir.path, "one.sh"), join(dir.path, "other")])),
    ]).toEqual([
      { code: "usage", message: `no such script or directory: ${join(dir.path, "missing")}` },
      { code: "usage", message: `no executable scripts in ${bare}; 2 files there are not executable: chmod +x the scripts to run` },
      { code: "usage", message: "two scripts are named one.sh; give each a name of its own" },
    ]);
  });
});

describe("skippedFor", () => {
  test("names the skipped files that start, run or want exactly that unit", async () => {
    using dir = tempDir();
    const files = [
      ["starts.sh", 'unitsync start "git-clone"\n'],
      ["runs.sh", "unitsync run git-clone -- git clone x\n"],
      ["wants.sh", "unitsync  want 'git-clone' base\n"],
      ["longer.sh", "unitsync start git-clone-2\n"],
      ["depends.sh", "unitsync want app git-clone\n"],
    ].map(([name, text]) => {
      const path = join(dir.path, name!);
      write(path, text!, false);
      return { name: name!, path, shown: path };
    });
    expect((await skippedFor("git-clone", files)).map((f) => f.name)).toEqual(["starts.sh", "runs.sh", "wants.sh"]);
    expect(await skippedFor("a.b", [{ name: "x", path: join(dir.path, "gone"), shown: "x" }])).toEqual([]);
  });
});
