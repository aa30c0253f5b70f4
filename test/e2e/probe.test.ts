// `complete --when`: a unit completes once a readiness probe passes (a port opens, an
// endpoint answers, a file appears, a command succeeds), and fails with the probe's words
// when it never does. Every address here is loopback.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { waitUntil, withoutTimes, type Result } from "../helpers.ts";
import { Child, freePort, logLines, ok, serve, unitScript, waitedOutput } from "./_bash.ts";

const lines = (...all: string[]) => `${all.join("\n")}\n`;
const COMPLETE_USAGE = "usage: unitsync complete <unit> [--exit-code N | --when PROBE [--status N] [--timeout 5m]]";
const passed = (spec: string, checks = "\\d+") =>
  expect.stringMatching(new RegExp(`^probe ${spec.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} passed after ${checks} checks in \\d+ ms\n$`));

/** A process that appends "opening port" to `log`, then listens on 127.0.0.1:`port`, `delayMs` after it starts. */
function delayedListener(port: number, log: string, delayMs: number): Child {
  const code = `
    const [port, log, delay] = process.argv.slice(-3);
    await Bun.sleep(Number(delay));
    require("node:fs").appendFileSync(log, "opening port\\n");
    Bun.listen({ hostname: "127.0.0.1", port: Number(port), socket: { data() {} } });`;
  return new Child([process.execPath, "-e", code, String(port), log, String(delayMs)]);
}

/** inotify watches process `pid` holds, read from /proc. */
function inotifyWatches(pid: number): number {
  let count = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
      count += (readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8").match(/^inotify wd:/gm) ?? []).length;
    }
  } catch {
    // The process or one of its descriptors went away while we looked.
  }
  return count;
}

/** A local HTTP server answering `statuses` in turn (the last one from then on); counts the checks. */
function statusServer(statuses: number[]) {
  let checks = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      const status = statuses[Math.min(checks++, statuses.length - 1)]!;
      return new Response(null, { status, headers: status >= 300 && status < 400 ? { location: "/login" } : {} });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/healthz`,
    get checks() {
      return checks;
    },
    [Symbol.dispose]: () => void server.stop(true),
  };
}

describe("a tcp probe", () => {
  test("completes db once its port opens, which releases api, waiting in start", async () => {
    await using served = await serve();
    const port = freePort();
    const log = join(served.dir, "log");
    await using api = served.bash(unitScript("api", ["db"]));
    await api.waitForStdout("is waiting");
    await using listener = delayedListener(port, log, 300);
    await using db = served.bash(`
unitsync start db
unitsync complete db --when tcp:127.0.0.1:${port}`);

    expect({ db: await db.result, api: await api.result, log: await logLines(log) }).toEqual({
      db: { stdout: lines(`Unit "db" started with no dependencies`, "Success"), stderr: passed(`tcp:127.0.0.1:${port}`), exitCode: 0 },
      api: ok(waitedOutput("api", ["db"])),
      log: ["opening port", "start api", "done api"],
    });
    expect(listener.running).toBe(true);
  });
});

interface HttpCase {
  name: string;
  statuses: number[];
  args: string[];
}

const httpCases: HttpCase[] = [
  { name: "503 while starting, then 200", statuses: [503, 503, 200], args: [] },
  { name: "--status 204: a 200 is not it", statuses: [200, 500, 204], args: ["--status", "204"] },
  { name: "a redirect is not readiness", statuses: [302, 404, 201], args: [] },
];

describe("an http probe", () => {
  test.each(httpCases)("$name", async ({ statuses, args }) => {
    await using served = await serve();
    using web = statusServer(statuses);
    await served.run("start", "web");
    const complete = await served.run("complete", "web", "--when", web.url, ...args);
    expect({ complete, checks: web.checks, list: (await served.run("list")).stdout }).toEqual({
      complete: { stdout: "Success\n", stderr: passed(web.url, String(statuses.length)), exitCode: 0 },
      checks: statuses.length,
      list: lines("UNIT  STATUS     READY  ", "web   completed  true   "),
    });
  });

  test("releases a start that waits for it", async () => {
    await using served = await serve();
    using web = statusServer([503, 503, 503, 200]);
    await served.run("want", "app", "web");
    await using app = served.spawn("start", "app");
    await app.waitForStdout("is waiting");
    await served.run("start", "web");
    expect({ complete: await served.run("complete", "web", "--when", web.url), app: await app.result }).toEqual({
      complete: { stdout: "Success\n", stderr: passed(web.url, "4"), exitCode: 0 },
      app: ok(
        lines(
          `Unit "app" is waiting for dependencies to be satisfied: [web]`,
          `Unit "app" finished waiting for dependencies: [web]`,
        ),
      ),
    });
  });
});

describe("file and exec probes", () => {
  test("file: completes once the file appears; a path is relative to the script's directory", async () => {
    await using served = await serve();
    await using app = served.bash(unitScript("app", ["config"]));
    await app.waitForStdout("is waiting");
    await using config = served.bash(`
unitsync start config
unitsync complete config --when file:generated/ready`);
    await Bun.write(join(served.dir, "generated", "ready"), "");
    expect({ config: await config.result, app: await app.result }).toEqual({
      config: {
        stdout: lines(`Unit "config" started with no dependencies`, "Success"),
        stderr: passed("file:generated/ready"),
        exitCode: 0,
      },
      app: ok(waitedOutput("app", ["config"])),
    });
  });

  test("file: watches the nearest directory, follows directories made later, and stats through a symlink", async () => {
    await using served = await serve();
    await served.run("start", "config");
    const target = join(served.dir, "real-ready");
    const path = join(served.dir, "gen", "sub", "ready");
    await using complete = served.spawn("complete", "config", "--when", `file:${path}`);
    await waitUntil(() => inotifyWatches(complete.pid) > 0, 10_000, "the probe to watch a directory");
    mkdirSync(join(served.dir, "gen", "sub"), { recursive: true });
    // A link to nothing yet is no file, as before: the probe passes once what it names exists.
    symlinkSync(target, path);
    const early = complete.running;
    await Bun.write(target, "");
    expect({ early, complete: await complete.result, list: (await served.run("list")).stdout }).toEqual({
      early: true,
      complete: { stdout: "Success\n", stderr: passed(`file:${path}`), exitCode: 0 },
      list: lines("UNIT    STATUS     READY  ", "config  completed  true   "),
    });
  });

  test("exec: checks until the command succeeds (here on its third run)", async () => {
    await using served = await serve();
    await served.run("start", "migrations");
    const probe = `exec:n=$(cat count 2>/dev/null || echo 0); echo $((n + 1)) > count; [ "$n" -ge 2 ]`;
    expect(await served.bash(`unitsync complete migrations --when '${probe}'`).result).toEqual({
      stdout: "Success\n",
      stderr: passed(probe, "3"),
      exitCode: 0,
    });
  });
});

interface TimeoutCase {
  name: string;
  /** The probe, given a closed port and an HTTP server that always answers 503. */
  probe: (closedPort: number, url: string) => string;
  /** The last failure, as the reason reports it. */
  detail: string;
}

const timeoutCases: TimeoutCase[] = [
  { name: "a port nobody opens", probe: (port) => `tcp:127.0.0.1:${port}`, detail: "connection refused" },
  { name: "an endpoint that stays 503", probe: (_, url) => url, detail: "HTTP 503" },
  { name: "a file that never appears", probe: () => "file:never/there", detail: "no such file" },
  { name: "a command that keeps failing", probe: () => "exec:echo not yet >&2; exit 1", detail: "exit code 1: not yet" },
];

describe("a probe that never passes", () => {
  test.each(timeoutCases)("$name: exit 4, the unit fails with the probe's words, its dependents stop", async ({ probe, detail }) => {
    await using served = await serve();
    using web = statusServer([503]);
    const spec = probe(freePort(), web.url);
    const reason = `probe ${spec} did not pass within 300ms: ${detail}`;
    await served.run("start", "svc");
    await served.run("want", "app", "svc");
    await using app = served.spawn("start", "app");
    await app.waitForStdout("is waiting");

    const complete = await served.run("complete", "svc", "--when", spec, "--timeout", "300ms");
    expect({ complete, app: await app.result, status: withoutTimes(JSON.parse((await served.run("status", "svc", "-o", "json")).stdout)) }).toEqual({
      complete: { stdout: "", stderr: `error: ${reason}\n`, exitCode: 4 },
      app: {
        stdout: lines(`Unit "app" is waiting for dependencies to be satisfied: [svc]`),
        stderr: `error: app: dependency "svc" failed: ${reason}\n`,
        exitCode: 3,
      },
      status: { unit_name: "svc", status: "failed", is_ready: true, reason, dependencies: [] },
    });
  });
});

interface RefusalCase {
  name: string;
  args: string[];
  expected: Result;
}

const usage = (message: string): Result => ({ stdout: "", stderr: `error: ${message}; ${COMPLETE_USAGE}\n`, exitCode: 2 });
const FORMS = "use tcp:HOST:PORT, http(s)://URL, file:PATH or exec:COMMAND";

const refusalCases: RefusalCase[] = [
  { name: "an unknown scheme", args: ["--when", "bogus:thing"], expected: usage(`unknown probe "bogus:thing": ${FORMS}`) },
  { name: "a host and port with no scheme", args: ["--when", "localhost:5432"], expected: usage(`unknown probe "localhost:5432": ${FORMS}`) },
  {
    name: "tcp with no port",
    args: ["--when", "tcp:127.0.0.1"],
    expected: usage(`invalid probe "tcp:127.0.0.1": use tcp:HOST:PORT, e.g. tcp:localhost:5432 or tcp:[::1]:5432`),
  },
  {
    name: "--status with a tcp probe",
    args: ["--when", "tcp:127.0.0.1:1", "--status", "200"],
    expected: usage(`--status applies only to http(s) probes, not "tcp:127.0.0.1:1"`),
  },
  { name: "--status without --when", args: ["--status", "200"], expected: usage("--status goes with --when") },
  {
    name: "--when with --exit-code",
    args: ["--when", "tcp:127.0.0.1:1", "--exit-code", "1"],
    expected: usage("--exit-code and --when cannot go together"),
  },
];

describe("probe usage errors exit 2 before anything is probed, and leave the unit as it was", () => {
  test.each(refusalCases)("$name", async ({ args, expected }) => {
    await using served = await serve();
    await served.run("start", "svc");
    expect({ complete: await served.run("complete", "svc", ...args), list: (await served.run("list")).stdout }).toEqual({
      complete: expected,
      list: lines("UNIT  STATUS   READY  ", "svc   started  true   "),
    });
  });

  test("an unregistered unit is refused before probing (exit 1)", async () => {
    await using served = await serve();
    // The port is closed and the default time-out is 5 minutes: only a refusal up front ends this quickly.
    expect(await served.run("complete", "ghost", "--when", `tcp:127.0.0.1:${freePort()}`)).toEqual({
      stdout: "",
      stderr: `error: complete unit failed: unit "ghost" is not registered; "want" or "start" registers a unit\n`,
      exitCode: 1,
    });
  });

  test.each([
    ["a completed unit", [["start", "svc"], ["complete", "svc"]], 'unit "svc" is already completed'],
    [
      "a unit failed through a dependency, whose reason chain must stay",
      [["want", "svc", "dep"], ["fail", "dep", "--reason", "image pull failed"]],
      'unit "svc" already failed; start it again to retry',
    ],
  ])("%s is refused before probing (exit 1), unchanged", async (_, setup, message) => {
    await using served = await serve();
    for (const step of setup) await served.run(...step);
    const before = (await served.run("status", "svc", "-o", "json")).stdout;
    expect(await served.run("complete", "svc", "--when", `tcp:127.0.0.1:${freePort()}`)).toEqual({
      stdout: "",
      stderr: `error: complete unit failed: ${message}\n`,
      exitCode: 1,
    });
    expect((await served.run("status", "svc", "-o", "json")).stdout).toBe(before);
  });
});
