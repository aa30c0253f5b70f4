// Fuzzes the CLI's arguments through the compiled binary against a real `unitsync serve`:
// random commands, flags, values, `--` placement and odd unit names. Properties: every run
// ends (or waits only where waiting is its job), exits with a documented code, reports a
// failure as one `error:` line (the root usage text when no command is given), never shows a
// stack trace, prints JSON that parses with `-o json`, and leaves the server healthy.
// `serve`, `up` and arbitrary `run` commands are never run. UNITSYNC_FUZZ_SEED pins the seed.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../helpers.ts";
import { AWKWARD_CHARACTERS, fuzzSeed, Random, rerunHint } from "../server/_fuzz.ts";
import { Child, serve, type Served } from "./_bash.ts";

const CASES = 300;
const CONCURRENCY = 12;
/** A command whose job is to wait (start, run, events --follow, ...) is stopped after this long: not a failure. */
const WAITING_KILL_MS = 1_500;
/** Any other command still running after this long hangs. */
const HANG_MS = 8_000;

const COMMANDS = ["ping", "want", "start", "complete", "fail", "run", "status", "list", "events", "graph", "timeline"];
const NEVER_RUN = new Set(["serve", "up"]);
/** The only commands `run` may run: harmless, and each with a known exit status. */
const SAFE_COMMANDS: ReadonlyArray<readonly string[]> = [["true"], ["false"], ["sh", "-c", "exit 7"], ["/nonexistent/unitsync-fuzz"], ["./not-executable"], [""]];
/** What a run of `run` may exit with besides the client codes: its command's status, 126 and 127. */
const RUN_CODES = new Set([0, 1, 7, 126, 127]);
const CLIENT_CODES = new Set([0, 1, 2, 3, 4, 5]);
const POOL = ["a", "b", "c", "d", "app", "git-clone"];
const DURATIONS = ["0", "1ms", "50ms", "200ms", "1s", "5m", "1h30m", "-1", "-5s", "1x", "99999999h", "1.5s", "", " ", "5", "1e3s", "NaN", "Infinity", "0.0001ms", `${"9".repeat(400)}h`, "٣s", "1s ", "--", "-0"];
const STACK_TRACE = /^\s+at |\bTypeError\b|\bReferenceError\b|\bRangeError\b|\bSyntaxError\b|Bun v\d|panic/m;
/** What the CLI says when something it did not expect happened: a bug, not a refusal. */
const INTERNAL_ERROR = /unexpected failure, please report it|unexpected answer from|internal server error/;

interface Case {
  argv: string[];
  /** The subcommand the CLI will pick, as src/cli/_runner.ts does; undefined for none. */
  command: string | undefined;
  /** Its job may be to wait for as long as it likes. */
  mayWait: boolean;
  /** A well-formed `-o json` run of a command that prints one JSON document. */
  json: boolean;
}

function unitName(r: Random): string {
  return r.weighted<() => string>([
    [55, () => r.pick(POOL)],
    [12, () => r.string(r.int(1, 10), AWKWARD_CHARACTERS)],
    [4, () => ""],
    [3, () => r.pick([" ", "a b", " a", "a "])],
    [4, () => "x".repeat(r.pick([255, 256, 300, 2_000]))],
    [2, () => "é".repeat(r.pick([127, 128]))],
    [5, () => r.pick(["-x", "--x", "-", "-1", "--timeout", "-o", "=", "a=b", "--=x"])],
    [4, () => r.pick([".", ".."])],
    [3, () => r.pick(["a/b", "%2F", "a%20b", "/", "\\", "./a", "a/..", "%2e"])],
    [3, () => r.pick(["a\tb", "a\nb", "a\u007f", "a\u0085", "\u001b[31mred"])],
    [2, () => r.pick(["constructor", "__proto__", "toString", "hasOwnProperty"])],
  ])();
}

function flagValue(r: Random, flag: string, served: Served): string {
  switch (flag) {
    case "--timeout":
    case "--report-every":
    case "--wait-for-server":
      return r.pick(DURATIONS);
    case "--requires":
      return r.pick(["success", "completion", "started", "SUCCESS", "", "never"]);
    case "-o":
    case "--output":
      return r.pick(["json", "table", "text", "dot", "mermaid", "svg", "yaml", ""]);
    case "--exit-code":
      return r.pick(["0", "1", "255", "256", "-1", "abc", "007", "1.0", ""]);
    case "--when":
      return r.pick(["file:/nonexistent/unitsync-fuzz", "file:", "tcp:127.0.0.1:1", "tcp:", "tcp:host", "http://127.0.0.1:1/", "https://", "exec:", "exec:   ", "bogus:x", "nothing", ""]);
    case "--status":
      return r.pick(["200", "99", "600", "abc", ""]);
    case "--after":
      return r.pick(["0", "1", "-1", "1.5", "abc", "1e400", "9007199254740993", ""]);
    case "--socket-path":
      return r.weighted([
        [6, served.socketPath],
        [1, join(served.dir, "nobody.sock")],
        [1, served.dir],
        [1, join(served.dir, "plain-file")],
        [1, ""],
        [1, `/tmp/${"s".repeat(200)}.sock`],
      ]);
    default:
      return r.pick([...POOL, "", "x".repeat(300), "--", "-"]);
  }
}

const FLAGS: Record<string, string[]> = {
  ping: [],
  want: ["--requires"],
  start: ["--timeout", "--report-every"],
  complete: ["--exit-code", "--when", "--status", "--timeout"],
  fail: ["--reason"],
  run: ["--after", "--requires", "--timeout", "--report-every"],
  status: ["-o", "--output"],
  list: ["-o", "--output"],
  events: ["--follow", "-f", "--after", "-o", "--output"],
  graph: ["-o", "--output"],
  timeline: ["-o", "--output"],
};
const BOOLEAN_FLAGS = new Set(["--follow", "-f", "--help", "-h", "--version", "-V"]);
const EVERYWHERE = ["--socket-path", "--wait-for-server"];
const ODD_FLAGS = ["--bogus", "-x", "--timeout-ms", "---", "-", "--=", "--help", "-h", "--version", "-V", "--no-color", "-oo", "--socket-path=", "--=x", "--é"];
const POSITIONALS: Record<string, [number, number]> = {
  ping: [0, 0], want: [2, 4], start: [1, 1], complete: [1, 1], fail: [1, 1], run: [1, 1],
  status: [1, 1], list: [0, 0], events: [0, 0], graph: [0, 0], timeline: [0, 0],
};

function flagTokens(r: Random, command: string | undefined, served: Served): string[] {
  const own = command ? (FLAGS[command] ?? []) : [];
  const flag = r.weighted<() => string>([
    [own.length > 0 ? 6 : 0, () => r.pick(own)],
    [2, () => r.pick(EVERYWHERE)],
    [2, () => r.pick(Object.values(FLAGS).flat())],
    [2, () => r.pick(ODD_FLAGS)],
  ])();
  if (BOOLEAN_FLAGS.has(flag) || ODD_FLAGS.includes(flag)) return r.chance(0.1) ? [`${flag}=x`] : [flag];
  return r.weighted<() => string[]>([
    [6, () => [flag, flagValue(r, flag, served)]],
    [3, () => [`${flag}=${flagValue(r, flag, served)}`]],
    [1, () => [flag]],
    [1, () => [flag, r.pick(["--timeout", "-o", "--socket-path"])]],
  ])();
}

/** A random command line; `json` marks a well-formed `-o json` query. */
function generate(r: Random, served: Served): { argv: string[]; json: boolean } {
  const argv = (make: () => string[]) => () => ({ argv: make(), json: false });
  return r.weighted<() => { argv: string[]; json: boolean }>([
    [30, argv(() => cleanLine(r))],
    [1, argv(() => oversizedLine(r))],
    [40, argv(() => commandLine(r, r.pick(COMMANDS), served))],
    [15, () => ({ argv: jsonLine(r), json: true })],
    [10, argv(() => commandLine(r, r.pick(["frobnicate", "START", "lis", "", "-", "help", "version", "é", "ping2", "--"]), served))],
    [5, argv(() => Array.from({ length: r.int(0, 3) }, () => flagTokens(r, undefined, served)).flat())],
  ])();
}

/** A command with about the right arguments, then wrong in a few random ways. */
function commandLine(r: Random, command: string, served: Served): string[] {
  const [min, max] = POSITIONALS[command] ?? [0, 2];
  const count = r.chance(0.8) ? r.int(min, max) : r.int(0, max + 2);
  const positionals = Array.from({ length: count }, () => unitName(r));
  const flags = Array.from({ length: r.weighted([[3, 0], [4, 1], [2, 2], [1, 4]]) }, () => flagTokens(r, command, served));
  let words = [...positionals.map((p) => [p]), ...flags];
  if (r.chance(0.3)) words = words.map((w) => [r.next(), w] as const).sort((x, y) => x[0] - y[0]).map(([, w]) => w);
  const before = r.chance(0.15) ? flagTokens(r, undefined, served) : [];
  const argv = [...before, command, ...words.flat()];
  if (command === "run" && r.chance(0.85)) argv.push("--", ...r.pick(SAFE_COMMANDS));
  else if (r.chance(0.1)) argv.splice(r.int(0, argv.length), 0, "--");
  return argv;
}

/** A right command line on the pool's units, so that the graph moves: refusals, failures and time-outs happen. */
function cleanLine(r: Random): string[] {
  const unit = r.pick(POOL);
  const others = () => Array.from({ length: r.int(1, 2) }, () => r.pick(POOL));
  const bounded = ["--timeout", r.pick(["50ms", "200ms"])];
  return r.pick<() => string[]>([
    () => ["want", unit, ...others(), ...(r.chance(0.3) ? ["--requires", r.pick(["success", "completion", "started"])] : [])],
    () => ["start", unit, ...bounded],
    () => ["complete", unit, ...(r.chance(0.3) ? ["--exit-code", r.pick(["0", "1", "3"])] : [])],
    () => ["fail", unit, ...(r.chance(0.5) ? ["--reason", r.string(r.int(0, 12), AWKWARD_CHARACTERS)] : [])],
    () => ["status", unit],
    () => [r.pick(["list", "graph", "timeline", "events", "ping"])],
    () => ["run", unit, ...others().flatMap((d) => ["--after", d]), ...bounded, "--", ...r.pick(SAFE_COMMANDS)],
  ])();
}

/** Arguments that make a request body over the server's 64 KiB: many long names, or a long reason. */
function oversizedLine(r: Random): string[] {
  const many = Array.from({ length: r.int(260, 400) }, (_, i) => `dependency-${i}-`.padEnd(250, "x"));
  return r.pick<() => string[]>([
    () => ["want", r.pick(POOL), ...many],
    () => ["fail", r.pick(POOL), "--reason", "r".repeat(r.pick([70_000, 100_000]))],
    () => ["run", r.pick(POOL), ...many.flatMap((d) => ["--after", d]), "--timeout", "50ms", "--", "true"],
  ])();
}

/** A well-formed `-o json` query, whose stdout must be one JSON document when it succeeds. */
function jsonLine(r: Random): string[] {
  const [command, unit] = r.pick([["list"], ["status", r.pick(POOL)], ["graph"], ["timeline"], ["events"]]);
  const flag = r.pick([["-o", "json"], ["--output", "json"], ["--output=json"], ["-o=json"]]);
  return [command!, ...(unit ? [unit] : []), ...flag];
}

/** The subcommand src/cli/_runner.ts picks: the first bare word, skipping the value of `--socket-path`. */
function chosenCommand(argv: readonly string[]): { command: string | undefined; index: number } {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") return { command: undefined, index: -1 };
    if (token === "--socket-path") i++;
    else if (!token.startsWith("-")) return { command: token, index: i };
  }
  return { command: undefined, index: -1 };
}

/** What follows the first `--` once the command word is taken out: `run`'s command. */
function restOf(argv: readonly string[], index: number): string[] | undefined {
  const others = index < 0 ? argv : [...argv.slice(0, index), ...argv.slice(index + 1)];
  const split = others.indexOf("--");
  return split < 0 ? undefined : others.slice(split + 1);
}

/** The value the CLI's parser gives a string flag: its last occurrence before `--`, or undefined. */
function lastValue(argv: readonly string[], flag: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") break;
    if (token === flag) value = argv[i + 1];
    else if (token.startsWith(`${flag}=`)) value = token.slice(flag.length + 1);
  }
  return value;
}

/** Builds a case, or undefined for one that could do harm (serve, up, a `run` of anything but SAFE_COMMANDS). */
function toCase({ argv, json }: { argv: string[]; json: boolean }): Case | undefined {
  const { command, index } = chosenCommand(argv);
  if (command !== undefined && NEVER_RUN.has(command)) return undefined;
  if (argv.some((token) => /exec:\s*\S/.test(token))) return undefined;
  if (command === "run") {
    const rest = restOf(argv, index);
    if (rest !== undefined && !SAFE_COMMANDS.some((safe) => safe.length === rest.length && safe.every((word, i) => word === rest[i]))) {
      return undefined;
    }
  }
  const before = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  const has = (...flags: string[]) => before.some((token) => flags.some((flag) => token === flag || token.startsWith(`${flag}=`)));
  const timeout = lastValue(argv, "--timeout");
  const shortTimeout = timeout !== undefined && ["1ms", "50ms", "200ms"].includes(timeout);
  const mayWait =
    has("--wait-for-server") ||
    (command === "start" && !shortTimeout) ||
    command === "run" ||
    (command === "events" && has("--follow", "-f")) ||
    (command === "complete" && has("--when"));
  return { argv, command, mayWait, json };
}

interface Outcome {
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  killed: boolean;
  ms: number;
}

async function runCase(served: Served, c: Case): Promise<Outcome> {
  const started = performance.now();
  await using child = new Child([BINARY, ...c.argv], { cwd: served.dir, env: served.env });
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill("SIGKILL");
  }, c.mayWait ? WAITING_KILL_MS : HANG_MS);
  const result = await child.result;
  clearTimeout(timer);
  return {
    argv: c.argv,
    exitCode: child.process.signalCode ? null : result.exitCode,
    signal: child.process.signalCode === null ? null : String(child.process.signalCode),
    stdout: result.stdout,
    stderr: result.stderr,
    killed,
    ms: Math.round(performance.now() - started),
  };
}

/** Every broken property of one run, as short sentences; empty when the run was fine. */
function check(c: Case, o: Outcome): string[] {
  const problems: string[] = [];
  if (o.killed) {
    if (!c.mayWait) problems.push(`still running after ${HANG_MS} ms (a hang)`);
  } else if (o.exitCode === null) {
    problems.push(`died of ${o.signal}`);
  } else if (!(c.command === "run" ? RUN_CODES.has(o.exitCode) || CLIENT_CODES.has(o.exitCode) : CLIENT_CODES.has(o.exitCode))) {
    problems.push(`exit code ${o.exitCode} is not a documented one`);
  }
  if (STACK_TRACE.test(o.stderr) || STACK_TRACE.test(o.stdout)) problems.push("a stack trace");
  if (INTERNAL_ERROR.test(o.stderr)) problems.push("an internal error");
  // The client builds every path itself: a route the server does not know is a bug, whatever the arguments.
  if (/\bno route\b|is not allowed on \/v1\//.test(o.stderr)) problems.push("the client asked for a route the server does not have");
  if (o.killed || o.exitCode === null) return problems;

  const errorLines = o.stderr.split("\n").filter((line) => line.startsWith("error:"));
  const lastLine = o.stderr.replace(/\n$/, "").split("\n").at(-1) ?? "";
  const reports = c.argv.some((t) => t.startsWith("--report-every")) || c.argv.some((t) => t.startsWith("--when"));
  if (o.exitCode === 2 && c.command === undefined) {
    // No command: the root usage text on stderr.
    if (!o.stderr.includes("USAGE unitsync [OPTIONS]") || o.stdout !== "") problems.push("no command, but not the root usage on stderr alone");
  } else if (o.exitCode !== 0 && !(c.command === "run" && errorLines.length === 0 && [1, 7].includes(o.exitCode))) {
    // `run` passes its command's failure through silently; everything else says why in one line.
    if (errorLines.length !== 1) problems.push(`${errorLines.length} error: lines on stderr, not one`);
    if (!/^error: \S/.test(lastLine)) problems.push("stderr does not end with the error: line");
    if (!reports && c.command !== "run" && o.stderr !== `${lastLine}\n`) problems.push("stderr holds more than the error: line");
    if (o.exitCode === 2 && o.stdout !== "") problems.push("a usage error printed to stdout");
  } else if (o.exitCode === 0 && errorLines.length > 0) {
    problems.push("success, but an error: line on stderr");
  }
  if (c.json && o.exitCode === 0) {
    try {
      JSON.parse(o.stdout);
    } catch {
      problems.push("-o json printed something that does not parse as JSON");
    }
  }
  return problems;
}

/** The command line as a shell would take it; long arguments and long lists are shortened for the eye. */
function shellQuote(argv: readonly string[]): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const shown = argv.slice(0, 12).map((a) => (a.length > 40 ? `${quote(a.slice(0, 20))}...(${Buffer.byteLength(a)} bytes)` : quote(a)));
  return shown.join(" ") + (argv.length > 12 ? ` ...(${argv.length} arguments)` : "");
}

function describeFailure(o: Outcome, problems: string[]): string {
  const cut = (text: string) => JSON.stringify(text.length > 600 ? `${text.slice(0, 600)}...` : text);
  return [
    `  unitsync ${shellQuote(o.argv)}`,
    `    ${problems.join("; ")}`,
    `    exit ${o.exitCode ?? o.signal}${o.killed ? " (killed)" : ""} after ${o.ms} ms; stdout ${cut(o.stdout)}; stderr ${cut(o.stderr)}`,
  ].join("\n");
}

describe("CLI fuzz", () => {
  test(`${CASES} random command lines exit with documented codes and one error line, and the server stays healthy`, async () => {
    const seed = fuzzSeed();
    const r = new Random(seed);
    await using served = await serve();
    writeFileSync(join(served.dir, "plain-file"), "not a socket\n");
    writeFileSync(join(served.dir, "not-executable"), "#!/bin/sh\nexit 0\n", { mode: 0o644 });

    const cases: Case[] = [];
    while (cases.length < CASES) {
      const c = toCase(generate(r, served));
      if (c) cases.push(c);
    }
    const failures: string[] = [];
    const codes = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        const outcome = await runCase(served, c);
        const key = outcome.killed ? "killed" : `exit ${outcome.exitCode ?? outcome.signal}`;
        codes.set(key, (codes.get(key) ?? 0) + 1);
        const problems = check(c, outcome);
        if (problems.length > 0) failures.push(describeFailure(outcome, problems));
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    // The server lived through it all, logged no failed request, and still does its job.
    const health: Record<string, unknown> = { running: served.server.running };
    if (/request failed|^\s+at /m.test(served.server.stderr)) failures.push(`the server logged failures:\n${served.server.stderr.split("\n").filter((l) => /request failed|^\s+at /.test(l)).slice(0, 5).join("\n")}`);
    health.ping = (await served.run("ping")).exitCode;
    const list = await served.run("list", "-o", "json");
    health.list = { exitCode: list.exitCode, parses: (() => { try { return Array.isArray(JSON.parse(list.stdout)); } catch { return false; } })() };
    const [app, dep] = [`after-fuzz-${seed}-app`, `after-fuzz-${seed}-dep`];
    health.want = (await served.run("want", app, dep)).exitCode;
    await using waiting = served.spawn("start", app, "--timeout", "10s");
    await waiting.waitForStdout("is waiting");
    health.startDependency = (await served.run("start", dep)).exitCode;
    health.completeDependency = (await served.run("complete", dep)).exitCode;
    health.released = (await waiting.result).exitCode;
    health.complete = (await served.run("complete", app)).exitCode;

    const hint = rerunHint(seed, "test/e2e/cli-fuzz.test.ts");
    const summary = `exits: ${JSON.stringify(Object.fromEntries([...codes].sort()))}`;
    if (failures.length > 0) throw new Error(`${hint}\n${summary}\n${failures.length} runs broke a property:\n${failures.slice(0, 15).join("\n")}`);
    expect(health).toEqual({
      running: true,
      ping: 0,
      list: { exitCode: 0, parses: true },
      want: 0,
      startDependency: 0,
      completeDependency: 0,
      released: 0,
      complete: 0,
    });
    // The fuzz reached successes, refusals and usage errors alike.
    expect({ 0: codes.has("exit 0"), 1: codes.has("exit 1"), 2: codes.has("exit 2") }).toEqual({ 0: true, 1: true, 2: true });
  }, 60_000);
});
