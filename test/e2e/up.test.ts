// `unitsync up`: a workspace's start-up scripts run in parallel against a private server,
// with a summary, the timeline, deadlock detection and a clean stop.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, tempDir, testEnv, waitUntil } from "../helpers.ts";
import { Child } from "./_bash.ts";

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
    const [script, units, ...rest] = line.split(/ {2,}/);
    rows[script!] = [units!, rest[0]!];
  }
  return rows;
}

function writeScripts(dir: string, scripts: Record<string, string>): void {
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
}

function up(args: string[], env: Record<string, string>): Child {
  return new Child([BINARY, "up", ...args], { env: testEnv({ PATH: `${join(BINARY, "..")}:${process.env.PATH}`, ...env }) });
}

describe("the example workspace", () => {
  test("succeeds in dependency order, with a summary, the timeline and its critical path", async () => {
    using work = tempDir();
    await using run = up([join(EXAMPLES, "workspace"), "--timeline", join(work.path, "t.svg")], { UNITSYNC_EXAMPLE_DIR: work.path });
    const result = await run.result;
    const order = result.stdout.split("\n");
    const at = (text: string) => order.findIndex((line) => line.includes(text));
    const stderr = result.stderr.split("\n").filter(Boolean);
    expect({
      exitCode: result.exitCode,
      // The scripts' stderr (run's waiting lines, the probe's line), each prefixed by its script.
      stderrPrefixed: stderr.every((line) => /^\d\d-[a-z-]+\.sh +│ /.test(line)),
      probe: stderr.some((line) => /^30-database\.sh +│ probe http:\/\/127\.0\.0\.1:\d+\/ passed after/.test(line)),
      rows: summary(result.stdout),
    }).toEqual({
      exitCode: 0,
      stderrPrefixed: true,
      probe: true,
      rows: {
        "10-git-clone.sh": ["git-clone", "ok"],
        "20-install-deps.sh": ["install-deps", "ok"],
        "30-database.sh": ["database", "ok"],
        "40-editor.sh": ["editor", "ok"],
        "50-ai-agent.sh": ["ai-agent", "ok"],
      },
    });
    expect({
      installAfterClone: at("installed dependencies") > at("cloned into"),
      editorAfterClone: at("editor settings written") > at("cloned into"),
      agentAfterAll: ["cloned into", "installed dependencies", "database answers"].every(
        (line) => at('Unit "ai-agent" finished waiting') > at(line),
      ),
      criticalPathEndsAtAgent: /^Critical path: .* -> ai-agent$/m.test(result.stdout),
      picture: readFileSync(join(work.path, "t.svg"), "utf8").includes("ai-agent"),
    }).toEqual({ installAfterClone: true, editorAfterClone: true, agentAfterAll: true, criticalPathEndsAtAgent: true, picture: true });
  });

  test("the broken variant is reported as a deadlock naming the typo, not left to time out", async () => {
    using work = tempDir();
    await using run = up(["--timeout", "60s", join(EXAMPLES, "workspace-broken")], { UNITSYNC_EXAMPLE_DIR: work.path });
    const result = await run.result;
    expect({
      exitCode: result.exitCode,
      report: linesOf(result.stdout, "up").filter((line) => line.startsWith("deadlock") || line.startsWith("  ")),
      agent: summary(result.stdout)["50-ai-agent.sh"],
    }).toEqual({
      exitCode: 1,
      report: [
        'deadlock: every script still running waits in "unitsync start", and nothing it waits for can happen:',
        '  50-ai-agent.sh: "ai-agent" waits for "gti-clone", which no script registered; did you mean "git-clone"?',
      ],
      agent: ["ai-agent", "stopped (deadlock)"],
    });
  });

  test("the broken variant's timeline shows the typo as not registered, the agent as stopped, and the path from the typo", async () => {
    using work = tempDir();
    const svg = join(work.path, "t.svg");
    await using run = up(["--timeout", "60s", "--timeline", svg, join(EXAMPLES, "workspace-broken")], { UNITSYNC_EXAMPLE_DIR: work.path });
    const result = await run.result;
    // Durations and bar lengths vary from run to run; the words do not.
    const timeline = result.stdout
      .slice(result.stdout.indexOf("Start-up timeline:"))
      .split("\n")
      .filter((line) => !line.startsWith("up "))
      .map((line) => line.replace(/\d+(\.\d+)?(ms|s)\b/g, "T"));
    const picture = readFileSync(svg, "utf8");
    expect({
      exitCode: result.exitCode,
      heading: timeline[0],
      agentWaitedThenStopped: /^\* ai-agent +T +- +░+■$/.test(timeline.find((line) => line.includes(" ai-agent "))!),
      typo: timeline.find((line) => line.includes(" gti-clone ")),
      legend: timeline.find((line) => line.startsWith("░ waiting")),
      // The path's columns are as wide as its longest duration, which varies too.
      path: timeline
        .slice(timeline.findIndex((line) => line.startsWith("Critical path:")))
        .filter(Boolean)
        .map((line) => line.replace(/T +/g, "T ")),
      stillGoing: /still|in progress:/.test(timeline.join("\n")),
      picture: ["critical path: gti-clone (not registered) → ai-agent", "not registered, needed by ai-agent"].map((text) => picture.includes(text)),
    }).toEqual({
      exitCode: 1,
      heading: "Start-up timeline: 5 units in T; stopped: 1; not registered: gti-clone",
      agentWaitedThenStopped: true,
      typo: "* gti-clone           -        -  not registered, needed by ai-agent",
      legend: "░ waiting  █ running  ✗ failed  ▸ in progress  ■ stopped  * critical path",
      path: [
        "Critical path: gti-clone (not registered) -> ai-agent",
        "  gti-clone  not registered: ai-agent could never start",
        "  ai-agent   @T waited T, stopped while waiting",
        "  ai-agent was stopped at T",
      ],
      stillGoing: false,
      picture: [true, true],
    });
  });
});

describe("deadlocks through scripts", () => {
  test("a script holding a unit while it waits for one that waits for that unit: both waits explained", async () => {
    using dir = tempDir();
    writeScripts(dir.path, {
      "a.sh": "unitsync start hold\nunitsync want mine other\nunitsync start mine\nunitsync complete hold",
      "b.sh": "unitsync want other hold\nunitsync start other",
    });
    await using run = up(["--timeout", "60s", dir.path], {});
    const result = await run.result;
    expect({
      exitCode: result.exitCode,
      report: linesOf(result.stdout, "up").filter((line) => line.startsWith("  ")),
      rows: summary(result.stdout),
    }).toEqual({
      exitCode: 1,
      report: [
        '  a.sh: "mine" waits for "other", which itself waits for [hold]',
        '  b.sh: "other" waits for "hold", which a.sh started and has not completed',
      ],
      rows: { "a.sh": ["hold, mine", "stopped (deadlock)"], "b.sh": ["other", "stopped (deadlock)"] },
    });
  });
});

describe("the Coder template's scripts", () => {
  test("run under up as the agent would run them, against a local repository", async () => {
    using work = tempDir();
    const seed = join(work.path, "seed");
    mkdirSync(seed);
    writeFileSync(join(seed, "README.md"), "demo\n");
    const git = (...args: string[]) => expect(Bun.spawnSync(["git", ...args], { cwd: seed }).exitCode).toBe(0);
    git("init", "-q");
    git("add", "README.md");
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "seed");
    git("clone", "-q", "--bare", seed, join(work.path, "origin.git"));
    await using run = up([join(EXAMPLES, "coder-template/scripts")], {
      REPO_URL: `file://${join(work.path, "origin.git")}`,
      PROJECT_DIR: join(work.path, "project"),
      // The editor and the agent are not installed here: their scripts must say so and go on.
      PATH: `${join(BINARY, "..")}:/usr/bin:/bin`,
    });
    const result = await run.result;
    expect({ exitCode: result.exitCode, rows: summary(result.stdout), cloned: existsSync(join(work.path, "project/README.md")) }).toEqual({
      exitCode: 0,
      rows: {
        "10-git-clone.sh": ["git-clone", "ok"],
        "20-install-deps.sh": ["install-deps", "ok"],
        "30-code-server.sh": ["code-server", "ok"],
        "40-claude.sh": ["claude", "ok"],
      },
      cloned: true,
    });
  });
});

describe("files up skips", () => {
  test("a file without chmod +x is named before the scripts start, and a deadlock on its unit says perhaps", async () => {
    using dir = tempDir();
    writeScripts(dir.path, { "agent.sh": "unitsync want agent clone\nunitsync start agent\nunitsync complete agent" });
    writeFileSync(join(dir.path, "clone.sh"), "#!/usr/bin/env bash\nunitsync run clone -- true\n");
    writeFileSync(join(dir.path, "notes.txt"), "nothing to run\n");
    writeFileSync(join(dir.path, "_lib.sh"), "# sourced by the scripts, never run\n");
    await using run = up(["--timeout", "60s", dir.path], {});
    const result = await run.result;
    const lines = result.stdout.split("\n");
    const upLines = linesOf(result.stdout, "up");
    expect({
      exitCode: result.exitCode,
      said: upLines.slice(1, upLines.findIndex((line) => line.startsWith("all scripts ended"))),
      skippedBeforeScripts: lines.findLastIndex((line) => line.includes("│ skipped ")) < lines.findIndex((line) => line.startsWith("agent.sh ")),
    }).toEqual({
      exitCode: 1,
      said: [
        `skipped clone.sh: not executable; chmod +x ${join(dir.path, "clone.sh")} to run it`,
        `skipped notes.txt: not executable; chmod +x ${join(dir.path, "notes.txt")} to run it`,
        'deadlock: every script still running waits in "unitsync start", and nothing it waits for can happen:',
        '  agent.sh: "agent" waits for "clone", which no script registered',
        `  perhaps clone.sh would have registered "clone": up skipped it as not executable (chmod +x ${join(dir.path, "clone.sh")})`,
      ],
      skippedBeforeScripts: true,
    });
  });

  test("a directory of files none of which is executable: exit 2, saying chmod +x", async () => {
    using dir = tempDir();
    writeFileSync(join(dir.path, "clone.sh"), "unitsync run clone -- true\n");
    await using run = up([dir.path], {});
    expect(await run.result).toEqual({
      exitCode: 2,
      stdout: "",
      stderr: `error: no executable scripts in ${dir.path}; 1 file there is not executable: chmod +x the scripts to run; usage: unitsync up [--timeout 10m] [--timeline FILE.svg] SCRIPT|DIR...\n`,
    });
  });
});

describe("failures and stopping", () => {
  test("a failing script stops its dependents at once and makes up exit non-zero", async () => {
    using dir = tempDir();
    writeScripts(dir.path, {
      "clone.sh": "unitsync run git-clone -- bash -c 'echo fatal: repository not found >&2; exit 128'",
      "agent.sh": "unitsync run claude --after git-clone -- echo never",
      "editor.sh": "unitsync run editor -- true",
    });
    await using run = up([dir.path], {});
    const result = await run.result;
    expect({
      exitCode: result.exitCode,
      header: result.stdout.split("\n").find((line) => line.startsWith("SCRIPT ")),
      rows: summary(result.stdout),
      never: result.stdout.includes("never"),
    }).toEqual({
      exitCode: 1,
      // TOOK: the script's own wall time; RUN in the timeline is a unit's start to end.
      header: "SCRIPT     UNITS      OUTCOME   WAITED  TOOK",
      rows: {
        "agent.sh": ["claude", "exit 3"],
        "clone.sh": ["git-clone", "exit 128"],
        "editor.sh": ["editor", "ok"],
      },
      never: false,
    });
  });

  test("SIGINT stops every script and what it started, and still prints the summary", async () => {
    using dir = tempDir();
    const pids = join(dir.path, "pids");
    mkdirSync(join(dir.path, "scripts"));
    writeScripts(join(dir.path, "scripts"), {
      "slow.sh": `sleep 300 & echo $! >>${pids}\necho $$ >>${pids}\nunitsync start slow\necho ready\nwait`,
      "waiter.sh": `echo $$ >>${pids}\nunitsync want later slow-done\nunitsync start later`,
    });
    await using run = up([join(dir.path, "scripts")], {});
    await run.waitForStdout("ready");
    await run.waitForStdout('Unit "later" is waiting');
    await waitUntil(() => existsSync(pids) && readFileSync(pids, "utf8").trim().split("\n").length === 3);
    run.kill("SIGINT");
    const result = await run.result;
    const alive = readFileSync(pids, "utf8")
      .trim()
      .split("\n")
      .map(Number)
      .filter((pid) => {
        // Dead but not yet reaped by init (a zombie) counts as gone.
        if (!existsSync(`/proc/${pid}/stat`)) return false;
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
      });
    expect({ exitCode: result.exitCode, alive, rows: summary(result.stdout) }).toEqual({
      exitCode: 130,
      alive: [],
      rows: { "slow.sh": ["slow", "stopped (interrupted)"], "waiter.sh": ["later", "stopped (interrupted)"] },
    });
  });

  test.each([
    [[], "error: name at least one script or directory of scripts; usage: unitsync up [--timeout 10m] [--timeline FILE.svg] SCRIPT|DIR..."],
    [["/nonexistent/x.sh"], "error: no such script or directory: /nonexistent/x.sh; usage: unitsync up [--timeout 10m] [--timeline FILE.svg] SCRIPT|DIR..."],
  ])("bad input %j: exit 2 with one line", async (args, message) => {
    await using run = up(args, {});
    expect(await run.result).toEqual({ exitCode: 2, stdout: "", stderr: `${message}\n` });
  });
});
