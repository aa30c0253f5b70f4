// Scripts written for Coder's agent (examples/coder-scripts*), run unchanged by `unitsync up`:
// their `coder exp sync` calls reach up's own server through the `coder` it puts on PATH.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { BINARY, tempDir, testEnv } from "../helpers.ts";
import { Child } from "../e2e/_bash.ts";

const EXAMPLES = join(import.meta.dir, "../../examples");

/** The lines `up` printed for `script`, without the `name │ ` prefix. */
function linesOf(stdout: string, script: string): string[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith(`${script} `))
    .map((line) => line.slice(line.indexOf("│ ") + 2));
}

/** Summary rows: script -> [units, outcome]. */
function summary(stdout: string): Record<string, [string, string]> {
  const lines = stdout.split("\n");
  const header = lines.findIndex((line) => line.startsWith("SCRIPT "));
  const rows: Record<string, [string, string]> = {};
  for (const line of lines.slice(header + 1)) {
    if (line.trim() === "") break;
    const [script, units, outcome] = line.split(/ {2,}/);
    rows[script!] = [units!, outcome!];
  }
  return rows;
}

async function up(example: string): Promise<{ stdout: string; exitCode: number; dir: string }> {
  using dir = tempDir();
  // No `coder` of the machine's: only up's own may answer.
  const env = testEnv({ PROJECT_DIR: join(dir.path, "project"), LOG_DIR: dir.path, PATH: "/usr/local/bin:/usr/bin:/bin" });
  await using child = new Child([BINARY, "up", join(EXAMPLES, example)], { cwd: dir.path, env });
  const { stdout, exitCode } = await child.result;
  return { stdout, exitCode, dir: dir.path };
}

describe("up runs Coder's scripts unchanged", () => {
  test("examples/coder-scripts: the clone first, then the editor and the agent's install, then its start", async () => {
    const { stdout, exitCode } = await up("coder-scripts");
    const editor = linesOf(stdout, "20-code-server.sh").filter((line) => line.startsWith("Unit ")).slice(1);
    expect([
      'Unit "code-server" is waiting for dependencies to be satisfied: [git-clone]|Unit "code-server" finished waiting for dependencies: [git-clone]',
      'Unit "code-server" started immediately, dependencies already satisfied: [git-clone]',
    ]).toContain(editor.join("|"));
    expect({
      exitCode,
      summary: summary(stdout),
      clone: linesOf(stdout, "10-git-clone.sh").filter((line) => line.startsWith("Unit ")),
      editor: linesOf(stdout, "20-code-server.sh").filter((line) => line.startsWith("Unit ")),
      agent: linesOf(stdout, "30-claude-code.sh"),
    }).toEqual({
      exitCode: 0,
      summary: {
        "10-git-clone.sh": ["git-clone", "ok"],
        "20-code-server.sh": ["code-server", "ok"],
        "30-claude-code.sh": [expect.stringMatching(/^claude-code\.install, /), "ok"],
      },
      clone: ['Unit "git-clone" started with no dependencies'],
      // The clone is a `git init` here: it may be done before the editor asks, or not.
      editor: expect.arrayContaining(['Unit "code-server" declared dependencies: [git-clone]']),
      agent: expect.arrayContaining([
        'Unit "claude-code.start" started immediately, dependencies already satisfied: [claude-code.install, code-server]',
        expect.stringMatching(/^claude-code would start in .*\/project$/),
      ]),
    });
  });

  test("examples/coder-scripts-broken: a failed clone still completes, and a missing unit is a deadlock at once", async () => {
    const { stdout, exitCode } = await up("coder-scripts-broken");
    expect({
      exitCode,
      summary: summary(stdout),
      deadlock: linesOf(stdout, "up").filter((line) => line.includes("no script registered")),
      notRegistered: stdout.includes("not registered: dotfiles"),
    }).toEqual({
      exitCode: 1,
      summary: {
        "10-git-clone.sh": ["git-clone", "exit 128"],
        "20-code-server.sh": ["code-server", "ok"],
        "30-personalize.sh": ["personalize", "stopped (deadlock)"],
      },
      deadlock: ['  30-personalize.sh: "personalize" waits for "dotfiles", which no script registered'],
      notRegistered: true,
    });
  });
});
