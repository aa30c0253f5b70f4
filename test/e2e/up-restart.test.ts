// `unitsync up` keeps its server in a process of its own and starts it again when it dies:
// the scripts, in the forms people write them, ride over the gap and the start-up ends as it
// would have without the crash.
import { expect, test } from "bun:test";
import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, tempDir, testEnv, waitUntil } from "../helpers.ts";
import { Child } from "./_bash.ts";

const SCRIPTS: Record<string, string> = {
  // Started before the crash, completed after it: the journal kept it started.
  "10-clone.sh": `unitsync start clone\nread -r go < "$GATE"\nunitsync complete clone`,
  // The three-call form, waiting across the crash.
  "20-deps.sh": `unitsync want deps clone\nunitsync start deps\nunitsync complete deps`,
  // One process per unit.
  "30-agent.sh": `unitsync run agent --after deps -- echo agent ran`,
  // Coder's registry form: piped through tee, the unit completed by an EXIT trap.
  "40-editor.sh": `trap 'coder exp sync complete editor' EXIT\ncoder exp sync want editor clone 2>&1 | tee -a "$LOG"\ncoder exp sync start editor 2>&1 | tee -a "$LOG"\necho editor set up`,
};

function writeScripts(dir: string): void {
  for (const [name, body] of Object.entries(SCRIPTS)) {
    writeFileSync(join(dir, name), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
}

/** The pid in up's `server (pid N) on PATH` line, or in its last `server back (pid N)` line. */
function serverPid(stdout: string): number {
  const pids = [...stdout.matchAll(/server (?:back )?\(pid (\d+)\)/g)].map((match) => Number(match[1]));
  return pids.at(-1)!;
}

test("up starts its server again when it is killed, twice, and every script ends as without the crash", async () => {
  using work = tempDir();
  const scripts = join(work.path, "scripts");
  await Bun.$`mkdir ${scripts} && mkfifo ${join(work.path, "gate")}`;
  writeScripts(scripts);
  const socketPath = join(work.path, "up.sock");
  await using up = new Child([BINARY, "up", "--socket-path", socketPath, "--timeout", "60s", scripts], {
    env: testEnv({ PATH: `${join(BINARY, "..")}:${process.env.PATH}`, GATE: join(work.path, "gate"), LOG: join(work.path, "editor.log") }),
  });
  // Every dependent waits (their waiting lines are on up's stdout and stderr), clone runs.
  const said = () => up.stdout + up.stderr;
  for (const unit of ["deps", "agent", "editor"]) await waitUntil(() => said().includes(`Unit "${unit}" is waiting`), 20_000, `${unit} to wait in:\n${said()}`);

  for (const round of [1, 2]) {
    const pid = serverPid(up.stdout);
    process.kill(pid, "SIGKILL");
    await waitUntil(() => (up.stdout.match(/server back \(pid \d+\)/g) ?? []).length === round, 20_000, `the server to be back (${round})`);
    expect(up.stdout).toContain(`the server (pid ${pid}) was killed by SIGKILL; starting it again on the same socket`);
    expect(serverPid(up.stdout)).not.toBe(pid);
  }
  expect(up.stdout).toMatch(/server back \(pid \d+\) after \S+: recovered 4 units from its journal/);

  // Released after the crashes: clone completes, and every dependent goes on.
  await Bun.$`echo go > ${join(work.path, "gate")}`;
  const result = await up.result;
  expect({ exitCode: result.exitCode, stderr: result.stderr.includes("error:") ? result.stderr : "" }).toEqual({ exitCode: 0, stderr: "" });
  const rows = Object.fromEntries(
    result.stdout
      .split("\n")
      .filter((line) => /^\d\d-\S+\.sh {2,}\S/.test(line))
      .map((line) => line.split(/ {2,}/).slice(0, 3))
      .map(([script, units, outcome]) => [script, `${units} ${outcome}`]),
  );
  expect(rows).toEqual({
    "10-clone.sh": "clone ok",
    "20-deps.sh": "deps ok",
    "30-agent.sh": "agent ok",
    "40-editor.sh": "editor ok",
  });
  // The timeline is the whole start-up's: the units from before the crashes are in it.
  expect(result.stdout).toMatch(/Start-up timeline: 4 units in/);
  expect(result.stdout).toContain("agent ran");
  // Its journal was for this start-up only.
  expect(existsSync(`${socketPath}.journal`)).toBe(false);
});

test("up stops the start-up with exit 5 when its server cannot be started again", async () => {
  using work = tempDir();
  const scripts = join(work.path, "scripts");
  await Bun.$`mkdir ${scripts}`;
  writeFileSync(join(scripts, "10-wait.sh"), `#!/usr/bin/env bash\nunitsync want app db\nunitsync start app\n`);
  chmodSync(join(scripts, "10-wait.sh"), 0o755);
  const socketPath = join(work.path, "up.sock");
  await using up = new Child([BINARY, "up", "--socket-path", socketPath, "--timeout", "60s", scripts], {
    env: testEnv({ PATH: `${join(BINARY, "..")}:${process.env.PATH}` }),
  });
  await waitUntil(() => (up.stdout + up.stderr).includes(`Unit "app" is waiting`), 20_000, "app to wait");
  // Someone else takes the path the moment the server dies: no server of up's can serve there.
  process.kill(serverPid(up.stdout), "SIGKILL");
  await Bun.$`rm -f ${socketPath}`;
  const squatter = Bun.listen({ unix: socketPath, socket: { data() {} } });
  try {
    const result = await up.result;
    expect(result.exitCode).toBe(5);
    expect(result.stdout).toMatch(/up +│ the server \(pid \d+\) was killed by SIGKILL, and could not be started again: .+/);
    // Whatever is at the socket now is not asked for a timeline: the summary says what up knows.
    expect(result.stdout).toMatch(/10-wait\.sh +- +stopped \(server\)/);
    expect(result.stdout).toMatch(/all scripts ended after \d+ms/);
  } finally {
    squatter.stop(true);
  }
});

test("up on a --socket-path another server already serves says so in the server's words, exit 1, and runs nothing", async () => {
  using work = tempDir();
  const socketPath = join(work.path, "taken.sock");
  const marker = join(work.path, "ran");
  writeFileSync(join(work.path, "a.sh"), `#!/bin/sh\ntouch "${marker}"\n`);
  chmodSync(join(work.path, "a.sh"), 0o755);
  await using other = new Child([BINARY, "serve", "--socket-path", socketPath]);
  await other.waitForStderr("serving on");
  await using up = new Child([BINARY, "up", "--socket-path", socketPath, join(work.path, "a.sh")]);
  const result = await up.result;
  expect({ exitCode: result.exitCode, stderr: result.stderr, ran: existsSync(marker) }).toEqual({
    exitCode: 1,
    stderr: `error: another unitsync server is already listening on ${socketPath}\n`,
    ran: false,
  });
});
