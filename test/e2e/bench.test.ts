// `unitsync up --runs N` and `unitsync compare`, driven from bash through the compiled binary:
// the figures, the exports, failed and deadlocked runs counted, and the CI gate.
import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, tempDir, testEnv, testNeeding, waitUntil } from "../helpers.ts";
import { Child } from "./_bash.ts";

/** Writes executable bash scripts into `dir/name`, which is created. */
function workspace(dir: string, name: string, scripts: Record<string, string>): string {
  const path = join(dir, name);
  mkdirSync(path);
  for (const [file, body] of Object.entries(scripts)) {
    writeFileSync(join(path, file), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`);
    chmodSync(join(path, file), 0o755);
  }
  return path;
}

/** Runs a bash script in `cwd` with the binary on PATH as `unitsync`, to completion. */
async function bash(cwd: string, script: string, env: Record<string, string> = {}) {
  const child = new Child(["bash", "-c", `set -u\n${script}`], { cwd, env: testEnv({ PATH: `${join(BINARY, "..")}:${process.env.PATH}`, ...env }) });
  return child.result;
}

const lines = (text: string) => text.split("\n").filter((line) => line !== "");

/** `unit measure` of each table row, the blank unit cell of a continued row filled in, sorted. */
function unitRows(rows: string[]): string[] {
  let unit = "";
  return rows
    .map((line) => {
      const [name, measure] = line.split(/ {2,}/);
      unit = name || unit;
      return `${unit} ${measure}`;
    })
    .sort();
}

/** A clone (long enough for the install to be waiting for it), then the install; `DELAY` seconds more in the install. */
const CHAIN = {
  "10-clone.sh": `unitsync run clone -- bash -c 'sleep 0.2; echo clone >> "$LOG"'`,
  "20-install.sh": `unitsync run install --after clone -- bash -c 'sleep "\${DELAY:-0}"; echo install >> "$LOG"'`,
};

describe("up --runs", () => {
  test("measures each run on a fresh server, runs --prepare and --cleanup around each, and exports JSON, Markdown and the picture", async () => {
    using work = tempDir();
    workspace(work.path, "ws", CHAIN);
    const result = await bash(
      work.path,
      `unitsync up ws --runs 3 --warmup 1 --prepare 'echo prepare >> "$LOG"' --cleanup 'echo cleanup >> "$LOG"' \\
        --export-json b.json --export-markdown b.md --timeline b.svg`,
      { LOG: join(work.path, "log") },
    );
    const json = JSON.parse(readFileSync(join(work.path, "b.json"), "utf8"));
    const out = lines(result.stdout);
    expect({
      exitCode: result.exitCode,
      heading: out[0],
      header: out[1]!.split(/ {2,}/),
      // Units come in the order they began, which two scripts started at once may swap.
      rows: unitRows(out.slice(2, out.findIndex((line) => line.startsWith("Over the")))),
      path: out.at(-1),
      progress: lines(result.stderr),
      log: lines(readFileSync(join(work.path, "log"), "utf8")),
      scripts: json.scripts,
      outcomes: json.runs.map((run: { outcome: string }) => run.outcome),
      // Units come in the order they first registered, which two parallel scripts race for.
      units: json.summary.units.map((unit: { unit_name: string; critical_runs: number }) => [unit.unit_name, unit.critical_runs]).sort(),
      markdown: lines(readFileSync(join(work.path, "b.md"), "utf8")).slice(0, 3),
      picture: ["unitsync start-up benchmark", ">clone<", ">install<", "critical path in 3/3 runs"].map((text) => readFileSync(join(work.path, "b.svg"), "utf8").includes(text)),
    }).toEqual({
      exitCode: 0,
      heading: "Start-up benchmark: 3 runs of 2 scripts after 1 warm-up run: 3 ok",
      header: ["UNIT", "TIME", "MEDIAN", "MEAN ± σ", "MIN … MAX", "P95", "CRITICAL PATH"],
      rows: ["clone end", "clone run", "install end", "install run", "install wait", "start-up end", "start-up wall"],
      // install always ends last; clone is on the path when install had to wait for it (almost always).
      path: expect.stringMatching(/^Most frequent critical path: (clone -> )?install \([23]\/3 runs\)$/),
      progress: ["warm-up 1/1: ok, start-up T", "run 1/3: ok, start-up T", "run 2/3: ok, start-up T", "run 3/3: ok, start-up T"].map((line) =>
        expect.stringMatching(new RegExp(`^${line.replace("T", "\\d+(\\.\\d+)?m?s")}$`)),
      ),
      log: Array.from({ length: 4 }, () => ["prepare", "clone", "install", "cleanup"]).flat(),
      scripts: ["10-clone.sh", "20-install.sh"],
      outcomes: ["ok", "ok", "ok"],
      units: [["clone", expect.any(Number)], ["install", 3]],
      markdown: [
        "### Start-up benchmark: 3 runs of 2 scripts after 1 warm-up run: 3 ok",
        "| unit | time | median | mean ± σ | min … max | p95 | critical path |",
        "| --- | --- | --- | --- | --- | --- | --- |",
      ],
      picture: [true, true, true, true],
    });
  });

  test("a run that fails, one that deadlocks and one that times out are counted and listed, not dropped, and up exits 1", async () => {
    using work = tempDir();
    // Run 2 fails its unit; run 3 waits for a unit nobody registers; run 4 outlasts --timeout.
    workspace(work.path, "ws", {
      "10-flaky.sh": `n=$(( $(cat "$COUNT" 2>/dev/null || echo 0) + 1 )); echo $n > "$COUNT"
        if [ $n = 3 ]; then unitsync want flaky gti-clone; fi
        unitsync run flaky -- bash -c "[ $n != 2 ] && if [ $n = 4 ]; then sleep 60; fi"`,
    });
    const result = await bash(work.path, "unitsync up ws --runs 5 --timeout 1s --export-json b.json", { COUNT: join(work.path, "count") });
    const json = JSON.parse(readFileSync(join(work.path, "b.json"), "utf8"));
    const out = lines(result.stdout);
    expect({
      exitCode: result.exitCode,
      heading: out[0],
      notInFigures: out.slice(out.findIndex((line) => line.startsWith("Not in the figures"))),
      progress: lines(result.stderr).map((line) => line.replace(/start-up \S+$/, "start-up T")),
      outcomes: json.runs.map((run: { outcome: string }) => run.outcome),
      summary: [json.summary.runs, json.summary.ok, json.summary.not_ok],
    }).toEqual({
      exitCode: 1,
      heading: "Start-up benchmark: 5 runs of 1 script: 2 ok, 1 failed, 1 deadlock, 1 timeout",
      notInFigures: [
        "Not in the figures: 3 of 5 runs",
        "  run 2: failed: flaky failed: exit code 1; 10-flaky.sh: exit 1",
        '  run 3: deadlock: 10-flaky.sh: "flaky" waits for "gti-clone", which no script registered',
        "  run 4: timeout: the start-up took longer than --timeout",
      ],
      progress: [
        "run 1/5: ok, start-up T",
        "run 2/5: failed: flaky failed: exit code 1",
        'run 3/5: deadlock: 10-flaky.sh: "flaky" waits for "gti-clone", which no script registered',
        "run 4/5: timeout: the start-up took longer than --timeout",
        "run 5/5: ok, start-up T",
      ],
      outcomes: ["ok", "failed", "deadlock", "timeout", "ok"],
      summary: [5, 2, { failed: 1, deadlock: 1, timeout: 1 }],
    });
  });

  test.each([
    [["--runs", "0", "ws"], "error: --runs must be a whole number from 1, not \"0\""],
    [["--runs", "ten", "ws"], "error: --runs must be a whole number from 1, not \"ten\""],
    [["--runs", "3", "--warmup", "-1", "ws"], "error: --warmup must be a whole number from 0, not \"-1\""],
    [["--runs", "3", "--fail-if-slower", "10", "ws"], "error: --fail-if-slower needs --baseline BASE.json (or use unitsync compare BASE.json NEW.json)"],
    [["--runs", "3", "--baseline", "b.json", "--fail-if-slower", "ten", "ws"], "error: --fail-if-slower must be a percentage such as 10 or 2.5%, not \"ten\""],
    [["--runs", "3", "--baseline", "missing.json", "ws"], "error: cannot read missing.json: no such file"],
    [["--runs", "3", "--baseline", "ws/10-clone.sh", "ws"], 'error: ws/10-clone.sh is not JSON; give a file written by "unitsync up --runs N --export-json FILE"'],
  ])("up %j: one line and exit 2, before any run", async (args, message) => {
    using work = tempDir();
    workspace(work.path, "ws", CHAIN);
    writeFileSync(join(work.path, "b.json"), "{}");
    const result = await bash(work.path, `unitsync up ${args.map((arg) => `'${arg}'`).join(" ")}`, { LOG: "/dev/null" });
    expect({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr.split("; usage:")[0] }).toEqual({
      exitCode: 2,
      stdout: "",
      stderr: message,
    });
  });

  test("a --prepare command that fails ends the benchmark with its exit code and last line", async () => {
    using work = tempDir();
    workspace(work.path, "ws", CHAIN);
    const result = await bash(work.path, `unitsync up ws --runs 3 --prepare 'echo no clean tree >&2; exit 3'`, { LOG: "/dev/null" });
    expect(result).toEqual({ exitCode: 1, stdout: "", stderr: "error: --prepare command exited 3 at run 1: no clean tree\n" });
  });
});

describe("up --runs, interrupted and on a terminal", () => {
  test("Ctrl-C ends the benchmark: the runs measured so far are reported, and up exits 130", async () => {
    using work = tempDir();
    workspace(work.path, "ws", CHAIN);
    await using up = new Child([BINARY, "up", "--runs", "1000", "ws"], {
      cwd: work.path,
      env: testEnv({ PATH: `${join(BINARY, "..")}:${process.env.PATH}`, LOG: "/dev/null" }),
    });
    await up.waitForStderr("run 2/1000: ok");
    up.kill("SIGINT");
    const result = await up.result;
    const measured = Number(/^Start-up benchmark: (\d+) runs of 2 scripts: \1 ok$/m.exec(result.stdout)?.[1]);
    expect({
      exitCode: result.exitCode,
      measured: measured >= 2 && measured < 1000,
      progressLines: lines(result.stderr).filter((line) => line.startsWith("run ")).length,
      last: lines(result.stderr).at(-1),
    }).toEqual({
      exitCode: 130,
      measured: true,
      progressLines: measured,
      last: `interrupted: the figures cover the ${measured} runs measured before`,
    });
  });

  testNeeding("tmux")("a progress bar redrawn in place on a terminal, gone when the figures come", async () => {
    using work = tempDir();
    workspace(work.path, "ws", { ...CHAIN, "30-slow.sh": "unitsync run slow -- sleep 0.3" });
    const server = `unitsync-bench-${process.pid}`;
    const tmux = (...args: string[]) => Bun.spawnSync(["tmux", "-L", server, ...args], { stdout: "pipe", stderr: "pipe" });
    const screen = () => tmux("capture-pane", "-p", "-J", "-t", "up", "-S", "-100").stdout.toString();
    const command = `cd ${work.path} && env -u NO_COLOR LOG=/dev/null PATH=${join(BINARY, "..")}:$PATH TERM=xterm-256color ${BINARY} up ws --runs 6; echo "up exited $?"; sleep 60`;
    expect(tmux("new-session", "-d", "-s", "up", "-x", "150", "-y", "50", command).exitCode).toBe(0);
    try {
      let during = "";
      await waitUntil(() => /^Benchmark [█░]{30} run [2-5]\/6, last \S+, about \S+ left/m.test((during = screen())), 20_000, "the progress bar");
      await waitUntil(() => screen().includes("up exited"), 20_000, "up to finish");
      const after = screen().split("\n");
      expect({
        oneBarLine: during.split("\n").filter((line) => line.startsWith("Benchmark ")).length,
        barAfter: after.some((line) => line.startsWith("Benchmark ")),
        heading: after.find((line) => line.startsWith("Start-up benchmark:")),
        exit: after.find((line) => line.startsWith("up exited")),
      }).toEqual({ oneBarLine: 1, barAfter: false, heading: "Start-up benchmark: 6 runs of 3 scripts: 6 ok", exit: "up exited 0" });
    } finally {
      tmux("kill-server");
    }
  });
});

describe("compare", () => {
  /** Two benchmarks of the chain: `fast` with no delay, `slow` with 0.5 s more in the install. */
  async function benchmarks(dir: string, runs: number): Promise<void> {
    workspace(dir, "ws", CHAIN);
    const result = await bash(
      dir,
      `unitsync up ws --runs ${runs} --export-json fast.json >/dev/null 2>&1
       DELAY=0.5 unitsync up ws --runs ${runs} --export-json slow.json >/dev/null 2>&1
       echo done`,
      { LOG: "/dev/null" },
    );
    expect(result.stdout).toBe("done\n");
  }

  test("marks what got slower with its p-value, and --fail-if-slower exits 1 only beyond PCT", async () => {
    using work = tempDir();
    await benchmarks(work.path, 5);
    const compared = await bash(work.path, "unitsync compare fast.json slow.json");
    const gated = await bash(work.path, "unitsync compare --fail-if-slower 10 fast.json slow.json");
    const lenient = await bash(work.path, "unitsync compare fast.json slow.json --fail-if-slower 100000");
    const same = await bash(work.path, "unitsync compare fast.json fast.json --fail-if-slower 0");
    const json = JSON.parse((await bash(work.path, "unitsync compare -o json fast.json slow.json")).stdout);
    const rows = lines(compared.stdout).slice(2);
    const row = (unit: string, measure: string) => {
      const at = rows.findIndex((line) => line.startsWith(`${unit} `));
      return rows.slice(at).find((line) => line.split(/ {2,}/).includes(measure))!.split(/ {2,}/);
    };
    expect({
      exitCodes: [compared.exitCode, gated.exitCode, lenient.exitCode, same.exitCode],
      heading: lines(compared.stdout)[0],
      startup: row("start-up", "end").slice(-2),
      install: row("install", "run").slice(-2),
      gateMessage: gated.stderr,
      sameVerdicts: [...new Set(JSON.parse((await bash(work.path, "unitsync compare -o json fast.json fast.json")).stdout).changes.map((c: { verdict: string }) => c.verdict))],
      jsonStartup: json.changes[0].unit_name + " " + json.changes[0].measure + " " + json.changes[0].verdict,
    }).toEqual({
      exitCodes: [0, 1, 0, 0],
      heading: "Start-up comparison: base 5 runs, new 5 runs; medians, Mann-Whitney U (two-sided), significant below p = 0.05",
      // 0.5 s more in every slow run: p is 2/252 when every slow run is slower than every
      // fast one, 4/252 with one overlap on a loaded machine.
      startup: [expect.stringMatching(/^0\.0(08|16)$/), "slower"],
      install: [expect.stringMatching(/^0\.0(08|16)$/), "slower"],
      gateMessage: expect.stringMatching(/^the start-up is slower than the base by more than 10% \(\d+\.\d%\), and significantly\n$/),
      sameVerdicts: ["no significant change"],
      jsonStartup: "start-up end slower",
    });
  });

  test("with 3 runs a side nothing can be significant: the gate does not fire, and the table says why", async () => {
    using work = tempDir();
    await benchmarks(work.path, 3);
    const result = await bash(work.path, "unitsync compare --fail-if-slower 10 fast.json slow.json");
    expect({ exitCode: result.exitCode, slower: result.stdout.includes("slower"), note: lines(result.stdout).at(-1) }).toEqual({
      exitCode: 0,
      slower: false,
      note: "With 3 ok runs on one side no difference can be significant: use --runs 5 or more.",
    });
  });

  test("up --baseline compares the new runs with the base and gates them", async () => {
    using work = tempDir();
    workspace(work.path, "ws", CHAIN);
    const base = await bash(work.path, "unitsync up ws --runs 5 --export-json base.json 2>/dev/null >/dev/null; echo $?", { LOG: "/dev/null" });
    const result = await bash(work.path, "unitsync up ws --runs 5 --baseline base.json --fail-if-slower 10 --export-markdown new.md", {
      LOG: "/dev/null",
      DELAY: "0.5",
    });
    const markdown = readFileSync(join(work.path, "new.md"), "utf8");
    expect({
      base: base.stdout,
      exitCode: result.exitCode,
      comparison: lines(result.stdout).some((line) => line.startsWith("Start-up comparison: base 5 runs, new 5 runs")),
      gate: lines(result.stderr).at(-1),
      markdown: [markdown.includes("### Start-up benchmark: 5 runs"), markdown.includes("### Start-up comparison"), markdown.includes("| **slower** |")],
    }).toEqual({
      base: "0\n",
      exitCode: 1,
      comparison: true,
      gate: expect.stringMatching(/^the start-up is slower than the base by more than 10% \(\d+\.\d%\), and significantly$/),
      markdown: [true, true, true],
    });
  });

  test.each([
    [["one.json"], "error: give two benchmark files: the base, then the new one"],
    [["missing.json", "b.json"], "error: cannot read missing.json: no such file"],
    [["empty.json", "b.json"], 'error: empty.json is not a unitsync benchmark (from "unitsync up --runs N --export-json FILE"): no "unitsync_benchmark": 1'],
    [["bad-run.json", "b.json"], 'error: bad-run.json is not a unitsync benchmark (from "unitsync up --runs N --export-json FILE"): runs[0].end_ms is not a number of milliseconds'],
    [["b.json", "b.json", "--fail-if-slower", "x"], 'error: --fail-if-slower must be a percentage such as 10 or 2.5%, not "x"'],
  ])("compare %j: one line and exit 2", async (args, message) => {
    using work = tempDir();
    writeFileSync(join(work.path, "empty.json"), "{}");
    writeFileSync(join(work.path, "bad-run.json"), JSON.stringify({ unitsync_benchmark: 1, runs: [{ outcome: "ok", wall_ms: 1, end_ms: "x", critical_path: [], units: [] }] }));
    writeFileSync(join(work.path, "b.json"), JSON.stringify({ unitsync_benchmark: 1, runs: [] }));
    const result = await bash(work.path, `unitsync compare ${args.join(" ")}`);
    expect({ exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr.split("; usage:")[0] }).toEqual({ exitCode: 2, stdout: "", stderr: message });
  });
});

describe("the picture", () => {
  testNeeding("rsvg-convert")("renders as an image", async () => {
    using work = tempDir();
    workspace(work.path, "ws", CHAIN);
    const result = await bash(work.path, "unitsync up ws --runs 2 --timeline b.svg >/dev/null 2>&1 && rsvg-convert -o b.png b.svg && file b.png", { LOG: "/dev/null" });
    expect({ exitCode: result.exitCode, png: result.stdout.includes("PNG image data, 960 x") }).toEqual({ exitCode: 0, png: true });
  });
});
