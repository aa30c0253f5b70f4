// `unitsync up` sees a deadlock through the shapes real start-up scripts wrap their
// `unitsync start` in (a pipe to tee, a subshell, a command substitution, a background job),
// and never takes a busy script beside a blocked one for a stuck one.
import { describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, tempDir, testEnv } from "../helpers.ts";
import { Child } from "./_bash.ts";

function writeScripts(dir: string, scripts: Record<string, string>): void {
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
}

function up(dir: string): Child {
  return new Child([BINARY, "up", "--timeout", "20s", dir], { env: testEnv({ PATH: `${join(BINARY, "..")}:${process.env.PATH}` }) });
}

/** What `up` said about its scripts: its deadlock report and each script's outcome. */
function verdict(stdout: string): { report: string[]; outcomes: Record<string, string> } {
  const lines = stdout.split("\n");
  const report = lines.filter((line) => /^up +│ ( |deadlock)/.test(line)).map((line) => line.slice(line.indexOf("│ ") + 2));
  const header = lines.findIndex((line) => line.startsWith("SCRIPT "));
  const outcomes: Record<string, string> = {};
  for (const line of lines.slice(header + 1)) {
    if (line.trim() === "") break;
    const [script, , outcome] = line.split(/ {2,}/);
    outcomes[script!] = outcome!;
  }
  return { report, outcomes };
}

const DEADLOCK_HEADER = 'deadlock: every script still running waits in "unitsync start", and nothing it waits for can happen:';

describe("a deadlock is found through the shape a script wraps its start in", () => {
  test.each([
    ["a pipe to tee", (start: string) => `${start} 2>&1 | tee "$0.log"`],
    ["a subshell", (start: string) => `( ${start} )`],
    ["a command substitution", (start: string) => `x=$(${start})\necho "$x"`],
    ["a background job and wait", (start: string) => `${start} &\nwait`],
    ["a group piped to a read loop", (start: string) => `{ ${start}; } 2>&1 | while read -r l; do echo "$l"; done`],
    ["output sent through tee by exec", (start: string) => `exec > >(tee "$0.log") 2>&1\n${start}`],
  ])("%s", async (_shape, wrap) => {
    using dir = tempDir();
    writeScripts(dir.path, {
      "a.sh": `unitsync start hold\nunitsync want mine other\n${wrap("unitsync start mine")}\nunitsync complete hold`,
      "b.sh": `unitsync want other hold\n${wrap("unitsync start other")}`,
    });
    await using run = up(dir.path);
    const result = await run.result;
    expect({ exitCode: result.exitCode, ...verdict(result.stdout) }).toEqual({
      exitCode: 1,
      report: [
        DEADLOCK_HEADER,
        '  a.sh: "mine" waits for "other", which itself waits for [hold]',
        '  b.sh: "other" waits for "hold", which a.sh started and has not completed',
      ],
      outcomes: { "a.sh": "stopped (deadlock)", "b.sh": "stopped (deadlock)" },
    });
  });

  test("a typo'd dependency behind a pipe to tee", async () => {
    using dir = tempDir();
    writeScripts(dir.path, {
      "a.sh": "unitsync want agent gti-clone\nunitsync start agent 2>&1 | tee /dev/null",
      "b.sh": "unitsync start git-clone 2>&1 | tee /dev/null\nunitsync complete git-clone",
    });
    await using run = up(dir.path);
    const result = await run.result;
    expect({ exitCode: result.exitCode, ...verdict(result.stdout) }).toEqual({
      exitCode: 1,
      report: [DEADLOCK_HEADER, '  a.sh: "agent" waits for "gti-clone", which no script registered; did you mean "git-clone"?'],
      outcomes: { "a.sh": "stopped (deadlock)", "b.sh": "ok" },
    });
  });
});

describe("a busy script beside a blocked one is not a deadlock", () => {
  test.each([
    ["sleeping", "sleep 5"],
    ["sleeping into a pipe to tee", "sleep 5 | tee /dev/null"],
    ["sleeping in a command substitution", "x=$(sleep 3)"],
    ["computing", "i=0; while [ $i -lt 200000 ]; do i=$((i + 1)); done"],
  ])("%s", async (_what, busy) => {
    using dir = tempDir();
    writeScripts(dir.path, {
      "a.sh": "unitsync want a b\nunitsync start a 2>&1 | tee /dev/null\nunitsync complete a",
      "b.sh": `unitsync start b\n${busy}\nunitsync complete b`,
    });
    await using run = up(dir.path);
    const result = await run.result;
    expect({ exitCode: result.exitCode, ...verdict(result.stdout) }).toEqual({
      exitCode: 0,
      report: [],
      outcomes: { "a.sh": "ok", "b.sh": "ok" },
    });
  });

  test("a pipe to tee also written by a process that left the script's tree", async () => {
    using dir = tempDir();
    writeScripts(dir.path, {
      "a.sh": "unitsync want a b\n{ ( sh -c 'sleep 2; unitsync complete b' & ); unitsync start a; } 2>&1 | tee \"$0.log\"\nunitsync complete a",
      "b.sh": "unitsync start b",
    });
    await using run = up(dir.path);
    const result = await run.result;
    expect({ exitCode: result.exitCode, ...verdict(result.stdout) }).toEqual({
      exitCode: 0,
      report: [],
      outcomes: { "a.sh": "ok", "b.sh": "ok" },
    });
  });
});
