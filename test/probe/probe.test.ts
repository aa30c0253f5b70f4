import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { checkOnce, parseProbe, waitForProbe, type Probe } from "../../src/probe/probe.ts";
import { UnitsyncError } from "../../src/protocol/index.ts";
import { tempDir, testNeeding, waitUntil } from "../helpers.ts";

const FORMS = "use tcp:HOST:PORT, http(s)://URL, file:PATH or exec:COMMAND";

type WithoutSpec<P> = P extends unknown ? Omit<P, "spec"> : never;

function listen(port = 0, hostname = "127.0.0.1") {
  return Bun.listen({ hostname, port, socket: { data() {} } });
}

function closedPort(): number {
  using listener = listen();
  return listener.port;
}

const ipv6Loopback = (() => {
  try {
    using _ = listen(0, "::1");
    return true;
  } catch {
    return false;
  }
})();

async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UnitsyncError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a failure");
}

/** An HTTP server answering with the given statuses in turn, the last one for ever after. */
function serveStatuses(...statuses: number[]) {
  let answered = 0;
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      const status = statuses[Math.min(answered++, statuses.length - 1)]!;
      return new Response(null, { status, headers: status >= 300 && status < 400 ? { location: "/login" } : {} });
    },
  });
}

describe("parseProbe", () => {
  test.each<[string, number | undefined, WithoutSpec<Probe>]>([
    ["tcp:localhost:5432", undefined, { kind: "tcp", host: "localhost", port: 5432 }],
    ["tcp:127.0.0.1:1", undefined, { kind: "tcp", host: "127.0.0.1", port: 1 }],
    ["tcp:[::1]:65535", undefined, { kind: "tcp", host: "::1", port: 65535 }],
    ["tcp://db_1:5432", undefined, { kind: "tcp", host: "db_1", port: 5432 }],
    ["TCP:db:80", undefined, { kind: "tcp", host: "db", port: 80 }],
    ["http://localhost:8080/healthz", undefined, { kind: "http", url: "http://localhost:8080/healthz" }],
    ["https://[::1]:8443", undefined, { kind: "http", url: "https://[::1]:8443/" }],
    ["http://localhost/ready?x=1", 204, { kind: "http", url: "http://localhost/ready?x=1", expectStatus: 204 }],
    ["file:/tmp/ready", undefined, { kind: "file", path: "/tmp/ready" }],
    ["file:relative/path:with:colons", undefined, { kind: "file", path: "relative/path:with:colons" }],
    ["file:~/ready", undefined, { kind: "file", path: `${process.env.HOME}/ready` }],
    ["exec:pg_isready -h localhost", undefined, { kind: "exec", command: "pg_isready -h localhost" }],
    ["exec:test -f /x && echo ok", undefined, { kind: "exec", command: "test -f /x && echo ok" }],
  ])("%j (status %p)", (spec, status, expected) => {
    expect(parseProbe(spec, status)).toEqual({ ...expected, spec });
  });

  test.each<[string, number | undefined, string]>([
    ["ftp://x", undefined, `unknown probe "ftp://x": ${FORMS}`],
    ["localhost:5432", undefined, `unknown probe "localhost:5432": ${FORMS}`],
    ["", undefined, `unknown probe "": ${FORMS}`],
    ["/tmp/ready", undefined, `unknown probe "/tmp/ready": ${FORMS}`],
    ["tcp:localhost", undefined, 'invalid probe "tcp:localhost": use tcp:HOST:PORT, e.g. tcp:localhost:5432 or tcp:[::1]:5432'],
    ["tcp:", undefined, 'invalid probe "tcp:": use tcp:HOST:PORT, e.g. tcp:localhost:5432 or tcp:[::1]:5432'],
    ["tcp:::1:5432", undefined, 'invalid probe "tcp:::1:5432": put an IPv6 address in brackets, e.g. tcp:[::1]:5432'],
    ["tcp::5432", undefined, 'invalid host "" in probe "tcp::5432"'],
    ["tcp:a b:80", undefined, 'invalid host "a b" in probe "tcp:a b:80"'],
    ["tcp:[db]:80", undefined, 'invalid host "db" in probe "tcp:[db]:80"'],
    ["tcp:localhost:", undefined, 'invalid port "" in probe "tcp:localhost:": use 1 to 65535'],
    ["tcp:localhost:0", undefined, 'invalid port "0" in probe "tcp:localhost:0": use 1 to 65535'],
    ["tcp:localhost:65536", undefined, 'invalid port "65536" in probe "tcp:localhost:65536": use 1 to 65535'],
    ["tcp:localhost:http", undefined, 'invalid probe "tcp:localhost:http": use tcp:HOST:PORT, e.g. tcp:localhost:5432 or tcp:[::1]:5432'],
    ["http://", undefined, 'invalid probe "http://": use http(s)://HOST[:PORT]/PATH, e.g. http://localhost:8080/healthz'],
    ["https://:80/x", undefined, 'invalid probe "https://:80/x": use http(s)://HOST[:PORT]/PATH, e.g. http://localhost:8080/healthz'],
    ["file:", undefined, 'invalid probe "file:": use file:PATH'],
    ["exec:  ", undefined, 'invalid probe "exec:  ": use exec:COMMAND'],
    ["tcp:localhost:80", 200, '--status applies only to http(s) probes, not "tcp:localhost:80"'],
    ["http://localhost/", 42, "invalid --status 42: use an HTTP status from 100 to 599"],
    ["http://localhost/", 200.5, "invalid --status 200.5: use an HTTP status from 100 to 599"],
  ])("%j (status %p) is a usage error", (spec, status, message) => {
    let caught: unknown;
    try {
      parseProbe(spec, status);
    } catch (error) {
      caught = error;
    }
    expect(caught instanceof UnitsyncError && { code: caught.code, message: caught.message }).toEqual({ code: "usage", message });
  });
});

describe("checkOnce", () => {
  test("reports why a check failed", async () => {
    using dir = tempDir();
    using unavailable = serveStatuses(503);
    using redirecting = serveStatuses(302);
    const results = await Promise.all(
      [
        `tcp:127.0.0.1:${closedPort()}`,
        `http://127.0.0.1:${closedPort()}/`,
        `http://127.0.0.1:${unavailable.port}/`,
        `http://127.0.0.1:${redirecting.port}/`,
        `file:${join(dir.path, "missing")}`,
        `file:${join(dir.path, "missing", "deeper")}`,
        "exec:exit 3",
        "exec:echo from stdout; exit 4",
        "exec:echo from stdout; echo from stderr >&2; echo >&2; exit 5",
        "exec:kill -KILL $$",
      ].map((spec) => checkOnce(parseProbe(spec))),
    );
    expect(results).toEqual([
      { ok: false, detail: "connection refused" },
      { ok: false, detail: "connection refused" },
      { ok: false, detail: "HTTP 503" },
      { ok: false, detail: "HTTP 302 to /login, not followed" },
      { ok: false, detail: "no such file" },
      { ok: false, detail: "no such file" },
      { ok: false, detail: "exit code 3" },
      { ok: false, detail: "exit code 4: from stdout" },
      { ok: false, detail: "exit code 5: from stderr" },
      { ok: false, detail: "killed by SIGKILL" },
    ]);
  });

  test("passes for an open port, 2xx, an existing file or directory, and exit 0", async () => {
    using dir = tempDir();
    using listener = listen();
    using served = serveStatuses(200);
    await Bun.write(join(dir.path, "ready"), "");
    const specs = [
      `tcp:127.0.0.1:${listener.port}`,
      `tcp:localhost:${listener.port}`,
      `http://localhost:${served.port}/`,
      `file:${dir.path}/ready`,
      `file:${dir.path}`,
      `exec:test -d ${dir.path}`,
    ];
    const results = await Promise.all(specs.map((spec) => checkOnce(parseProbe(spec))));
    expect(results).toEqual(Array(6).fill({ ok: true }));
  });

  test.skipIf(!ipv6Loopback)("connects to an IPv6 address", async () => {
    using listener = listen(0, "::1");
    using served = Bun.serve({ hostname: "::1", port: 0, fetch: () => new Response("ok") });
    expect([
      await checkOnce(parseProbe(`tcp:[::1]:${listener.port}`)),
      await checkOnce(parseProbe(`http://[::1]:${served.port}/`)),
    ]).toEqual([{ ok: true }, { ok: true }]);
  });

  test.each<[number, number | undefined, { ok: true } | { ok: false; detail: string }]>([
    [204, 204, { ok: true }],
    [200, 204, { ok: false, detail: "HTTP 200, expected 204" }],
    [302, 302, { ok: true }],
    [503, 503, { ok: true }],
    [299, undefined, { ok: true }],
    [304, undefined, { ok: false, detail: "HTTP 304 to /login, not followed" }],
  ])("HTTP %d with --status %p", async (status, expectStatus, expected) => {
    using served = serveStatuses(status);
    expect(await checkOnce(parseProbe(`http://127.0.0.1:${served.port}/`, expectStatus))).toEqual(expected);
  });

  testNeeding("openssl")("trusts a self-signed certificate, as Kubernetes probes do", async () => {
    using dir = tempDir();
    const [key, cert] = [join(dir.path, "key.pem"), join(dir.path, "cert.pem")];
    const made = Bun.spawnSync(
      ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        .concat(["-days", "1", "-subj", "/CN=localhost", "-keyout", key, "-out", cert]),
      { stdout: "ignore", stderr: "pipe" },
    );
    expect(made.exitCode).toBe(0);
    using served = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      tls: { key: Bun.file(key), cert: Bun.file(cert) },
      fetch: () => new Response("ok"),
    });
    expect(await checkOnce(parseProbe(`https://localhost:${served.port}/`))).toEqual({ ok: true });
  });
});

describe("waitForProbe", () => {
  test("notices a port soon after it opens", async () => {
    const port = closedPort();
    let openedAt = 0;
    let listener: ReturnType<typeof listen> | undefined;
    const opener = setTimeout(() => {
      listener = listen(port);
      openedAt = performance.now();
    }, 300);
    try {
      const { checks } = await waitForProbe(parseProbe(`tcp:127.0.0.1:${port}`), 5000);
      const gap = performance.now() - openedAt;
      expect({ opened: openedAt > 0, gapUnder500ms: gap < 500, retried: checks > 5 }).toEqual({
        opened: true,
        gapUnder500ms: true,
        retried: true,
      });
    } finally {
      clearTimeout(opener);
      listener?.stop(true);
    }
  });

  test("times out on a closed port, with the reason", async () => {
    const port = closedPort();
    const startedAt = performance.now();
    const failed = await failure(waitForProbe(parseProbe(`tcp:127.0.0.1:${port}`), 300));
    const took = performance.now() - startedAt;
    expect({ failed, onTime: took >= 300 && took < 1000 }).toEqual({
      failed: { code: "timeout", message: `probe tcp:127.0.0.1:${port} did not pass within 300ms: connection refused` },
      onTime: true,
    });
  });

  test("passes at the first check when already up", async () => {
    using served = serveStatuses(200);
    expect((await waitForProbe(parseProbe(`http://127.0.0.1:${served.port}/`), 1000)).checks).toBe(1);
  });

  test("retries an HTTP endpoint until it turns 2xx", async () => {
    using served = serveStatuses(503, 503, 503, 200);
    expect((await waitForProbe(parseProbe(`http://127.0.0.1:${served.port}/health`), 5000)).checks).toBe(4);
  });

  test("does not follow a redirect to a passing page", async () => {
    using served = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      routes: { "/": Response.redirect("/login", 302), "/login": new Response("ok") },
    });
    expect(await failure(waitForProbe(parseProbe(`http://127.0.0.1:${served.port}/`), 200))).toEqual({
      code: "timeout",
      message: `probe http://127.0.0.1:${served.port}/ did not pass within 200ms: HTTP 302 to /login, not followed`,
    });
  });

  test.each([
    ["file", (path: string) => `file:${path}`],
    ["exec test -f", (path: string) => `exec:test -f '${path}'`],
  ])("%s passes once the file appears", async (_, spec) => {
    using dir = tempDir();
    const path = join(dir.path, "ready");
    const writer = setTimeout(() => void Bun.write(path, "done"), 100);
    try {
      expect((await waitForProbe(parseProbe(spec(path)), 5000)).checks).toBeGreaterThan(1);
    } finally {
      clearTimeout(writer);
    }
  });

  test("an exec probe still running at the deadline is stopped", async () => {
    using dir = tempDir();
    const pidFile = join(dir.path, "pid");
    const startedAt = performance.now();
    const spec = `exec:echo $$ > '${pidFile}'; exec sleep 30`;
    const failed = await failure(waitForProbe(parseProbe(spec), 200));
    const pid = Number(await Bun.file(pidFile).text());
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect({ failed, prompt: performance.now() - startedAt < 1000 }).toEqual({
      failed: { code: "timeout", message: `probe ${spec} did not pass within 200ms: the command was still running` },
      prompt: true,
    });
    await waitUntil(() => !alive(), 2000, "the probe's command to end");
  });

  describe("a host name that does not resolve", () => {
    const spec = "tcp:no-such-host.invalid:80";

    test("is refused as a bad request once the grace period has passed", async () => {
      const startedAt = performance.now();
      const failed = await failure(waitForProbe(parseProbe(spec), 0, undefined, { resolveGraceMs: 200 }));
      expect({
        code: failed.code,
        message: failed.message.replace(/after [\d.]+m?s/, "after T"),
        prompt: performance.now() - startedAt < 2000,
      }).toEqual({
        code: "bad_request",
        message: `probe ${spec}: cannot resolve host "no-such-host.invalid" (still failing after T): check the host name`,
        prompt: true,
      });
    });

    test("is retried until a shorter time-out, which names it", async () => {
      expect(await failure(waitForProbe(parseProbe("http://no-such-host.invalid/"), 200))).toEqual({
        code: "timeout",
        message: 'probe http://no-such-host.invalid/ did not pass within 200ms: cannot resolve host "no-such-host.invalid"',
      });
    });
  });

  describe("an abort", () => {
    test.each([
      ["between checks", () => `tcp:127.0.0.1:${closedPort()}`],
      ["during an exec check", () => "exec:exec sleep 30"],
    ])("%s stops waiting promptly", async (_, spec) => {
      const controller = new AbortController();
      const waiting = waitForProbe(parseProbe(spec()), 0, controller.signal);
      const abortAt = performance.now() + 100;
      setTimeout(() => controller.abort(), 100);
      const reason = await waiting.catch((error: unknown) => error);
      const prompt = performance.now() - abortAt < 100;
      expect({ name: (reason as Error).name, prompt }).toEqual({ name: "AbortError", prompt: true });
    });

    test("that already happened stops before the first check", async () => {
      const waiting = waitForProbe(parseProbe("exec:touch /nonexistent/never"), 0, AbortSignal.abort());
      const reason = await waiting.catch((error: unknown) => error);
      expect((reason as Error).name).toBe("AbortError");
    });
  });
});

/** inotify watches this process holds now, read from /proc: how a test sees that the probe watches. */
function inotifyWatches(): number {
  let count = 0;
  for (const fd of readdirSync("/proc/self/fdinfo")) {
    try {
      count += (readFileSync(`/proc/self/fdinfo/${fd}`, "utf8").match(/^inotify wd:/gm) ?? []).length;
    } catch {
      // Closed while we looked.
    }
  }
  return count;
}

describe("a file probe's watch", () => {
  // An hour between periodic checks: once the probe watches, only a change in the directory can wake it in time.
  const eventOnly = { intervalMs: 3_600_000 };

  test("wakes the probe when the file appears, and is gone once it passed", async () => {
    using dir = tempDir();
    const path = join(dir.path, "ready");
    const before = inotifyWatches();
    const waiting = waitForProbe(parseProbe(`file:${path}`), 10_000, undefined, eventOnly);
    await waitUntil(() => inotifyWatches() > before, 5000, "the probe to watch the directory");
    await Bun.write(path, "");
    expect({ passed: (await waiting).checks > 1, watches: inotifyWatches() }).toEqual({ passed: true, watches: before });
  });

  test("follows directories that appear one after another down to the file", async () => {
    using dir = tempDir();
    const path = join(dir.path, "a", "b", "ready");
    const before = inotifyWatches();
    const waiting = waitForProbe(parseProbe(`file:${path}`), 10_000, undefined, eventOnly);
    await waitUntil(() => inotifyWatches() > before, 5000, "the probe to watch the directory");
    mkdirSync(join(dir.path, "a"));
    mkdirSync(join(dir.path, "a", "b"));
    await Bun.write(path, "");
    expect({ passed: (await waiting).checks > 1, watches: inotifyWatches() }).toEqual({ passed: true, watches: before });
  });

  test("is gone once the probe times out", async () => {
    using dir = tempDir();
    const before = inotifyWatches();
    const failed = await failure(waitForProbe(parseProbe(`file:${join(dir.path, "never")}`), 200));
    expect({ code: failed.code, watches: inotifyWatches() }).toEqual({ code: "timeout", watches: before });
  });

  test.each([
    ["passes", "touch ready"],
    ["times out", ""],
  ])("does not keep the process alive once the probe %s", async (_, then) => {
    using dir = tempDir();
    const script = `
      const { parseProbe, waitForProbe } = await import(${JSON.stringify(join(import.meta.dir, "../../src/probe/probe.ts"))});
      setTimeout(() => ${JSON.stringify(then)} && Bun.spawnSync(["sh", "-c", ${JSON.stringify(then)}]), 50).unref();
      await waitForProbe(parseProbe("file:ready"), 500).then(() => console.log("passed"), (e) => console.log(e.code));`;
    const child = Bun.spawn([process.execPath, "-e", script], { cwd: dir.path, stdout: "pipe", stderr: "inherit" });
    expect({ said: (await new Response(child.stdout).text()).trim(), exitCode: await child.exited }).toEqual({
      said: then ? "passed" : "timeout",
      exitCode: 0,
    });
  });
});
