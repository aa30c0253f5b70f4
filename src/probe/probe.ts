import { LONGEST_TIMER_MS, UnitsyncError, usageError } from "../protocol/index.ts";
import { formatDuration } from "../render/duration.ts";
import type { ParentWatch } from "./watch.ts";

/** What `complete --when` waits for; `spec` is the text the user gave, for messages. */
export type Probe =
  | { kind: "tcp"; host: string; port: number; spec: string }
  | { kind: "http"; url: string; expectStatus?: number; spec: string }
  | { kind: "file"; path: string; spec: string }
  | { kind: "exec"; command: string; spec: string };

/** The outcome of one check; `unresolved` marks a host name that did not resolve. */
export type CheckResult = { ok: true } | { ok: false; detail: string; unresolved?: boolean };

export interface WaitOptions {
  /** How long a host name that has never resolved is retried before it is called a mistake; 0 refuses at once. */
  resolveGraceMs?: number;
  /** The pause between checks, in place of the usual schedule: for tests of what else wakes a check. */
  intervalMs?: number;
}

// A connect or a stat every 15 ms notices a service about 8 ms after it comes up (median),
// whenever that is, for well under 1% of a core. After 5 minutes the pause grows with the
// time waited (a 1/20,000 of it, so 30 ms at 10 min, 1 s after 5.5 h): a wait for ever
// costs ever less, and is still noticed within a small share of how long it waited.
const SHORT_INTERVAL_MS = 15;
const INTERVAL_SHARE_OF_WAIT = 1 / 20_000;
const MAX_INTERVAL_MS = 1000;
// A command is a process start, not a connect: exec probes keep a pause that grows by an
// eighth from 20 ms (a service up within a second is noticed ~40 ms late) up to 1 s.
const EXEC_FIRST_INTERVAL_MS = 20;
const EXEC_INTERVAL_GROWTH = 1.125;
const CHECK_TIME_LIMIT_MS = 1000;
const RESOLVE_GRACE_MS = 10_000;
const OUTPUT_TAIL_CHARS = 4096;

const PROBE_FORMS = "use tcp:HOST:PORT, http(s)://URL, file:PATH or exec:COMMAND";

/**
 * Turns a `--when` value into a probe, so that every mistake in it is a usage error
 * before anything waits. `expectStatus` comes from `--status` and only suits http(s).
 */
export function parseProbe(spec: string, expectStatus?: number): Probe {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(spec)?.[1]?.toLowerCase();
  if (expectStatus !== undefined) {
    if (scheme !== "http" && scheme !== "https") {
      throw usageError(`--status applies only to http(s) probes, not ${JSON.stringify(spec)}`);
    }
    if (!Number.isInteger(expectStatus) || expectStatus < 100 || expectStatus > 599) {
      throw usageError(`invalid --status ${expectStatus}: use an HTTP status from 100 to 599`);
    }
  }
  const target = spec.slice((scheme?.length ?? 0) + 1);
  switch (scheme) {
    case "tcp":
      // tcp://HOST:PORT, as Docker writes it, means the same.
      return { kind: "tcp", ...parseHostPort(target.replace(/^\/\//, ""), spec), spec };
    case "http":
    case "https":
      return { kind: "http", url: parseUrl(spec), ...(expectStatus === undefined ? {} : { expectStatus }), spec };
    case "file":
      if (target === "") throw usageError(`invalid probe ${JSON.stringify(spec)}: use file:PATH`);
      // The shell leaves a ~ after "file:" alone; expand it as the user meant.
      return { kind: "file", path: target.replace(/^~(?=\/|$)/, process.env.HOME ?? "~"), spec };
    case "exec":
      if (target.trim() === "") throw usageError(`invalid probe ${JSON.stringify(spec)}: use exec:COMMAND`);
      return { kind: "exec", command: target, spec };
    default:
      throw usageError(`unknown probe ${JSON.stringify(spec)}: ${PROBE_FORMS}`);
  }
}

function parseHostPort(target: string, spec: string): { host: string; port: number } {
  const match = /^(\[[^\]]*\]|[^\[\]]*):(\d*)$/.exec(target);
  if (!match) throw usageError(`invalid probe ${JSON.stringify(spec)}: use tcp:HOST:PORT, e.g. tcp:localhost:5432 or tcp:[::1]:5432`);
  const [, rawHost = "", rawPort = ""] = match;
  const bracketed = rawHost.startsWith("[");
  const host = bracketed ? rawHost.slice(1, -1) : rawHost;
  if (!bracketed && host.includes(":")) {
    throw usageError(`invalid probe ${JSON.stringify(spec)}: put an IPv6 address in brackets, e.g. tcp:[::1]:5432`);
  }
  const validHost = bracketed ? /^[0-9a-f.]*:[0-9a-f:.]*(%[\w.-]+)?$/i : /^[^\s/@]+$/;
  if (!validHost.test(host)) throw usageError(`invalid host ${JSON.stringify(host)} in probe ${JSON.stringify(spec)}`);
  const port = Number(rawPort);
  if (rawPort === "" || rawPort.length > 5 || port < 1 || port > 65535) {
    throw usageError(`invalid port ${JSON.stringify(rawPort)} in probe ${JSON.stringify(spec)}: use 1 to 65535`);
  }
  return { host, port };
}

function parseUrl(spec: string): string {
  const url = URL.parse(spec);
  if (!url || url.hostname === "") {
    throw usageError(`invalid probe ${JSON.stringify(spec)}: use http(s)://HOST[:PORT]/PATH, e.g. http://localhost:8080/healthz`);
  }
  return url.href;
}

/**
 * Runs one check. An ordinary failure resolves `{ ok: false, detail }` so the caller can
 * retry and report it; only an abort of `signal` rejects (with the signal's reason).
 * tcp and http checks give up after 1 s; exec runs until it exits or `signal` aborts.
 */
export function checkOnce(probe: Probe, signal?: AbortSignal): Promise<CheckResult> {
  signal?.throwIfAborted();
  switch (probe.kind) {
    case "tcp":
      return checkTcp(probe.host, probe.port, signal);
    case "http":
      return checkHttp(probe.url, probe.expectStatus, signal);
    case "file":
      return checkFile(probe.path);
    case "exec":
      return checkExec(probe.command, signal);
  }
}

async function checkTcp(hostname: string, port: number, signal?: AbortSignal): Promise<CheckResult> {
  using limit = timeLimit(CHECK_TIME_LIMIT_MS, signal);
  const connecting = Bun.connect({ hostname, port, socket: { data() {}, error() {}, connectError() {} } });
  try {
    const socket = await Promise.race([connecting, aborted(limit.signal)]);
    socket.end();
    return { ok: true };
  } catch (error) {
    // A connection that completes after we gave up must not stay open.
    connecting.then((late) => late.terminate(), () => {});
    return failedConnection(error, hostname, limit, signal);
  }
}

async function checkHttp(url: string, expectStatus: number | undefined, signal?: AbortSignal): Promise<CheckResult> {
  using limit = timeLimit(CHECK_TIME_LIMIT_MS, signal);
  let response: Response;
  try {
    response = await fetch(url, {
      signal: limit.signal,
      // A 3xx is an answer in itself (often "log in first"), not readiness; it passes only via --status.
      redirect: "manual",
      // Each check is a fresh connection, as a restarted service would see it.
      keepalive: false,
      // As Kubernetes' HTTPS probes do: the question is "is it up", and local endpoints are often
      // self-signed. The probe sends nothing secret; the real client verifies when it connects.
      tls: { rejectUnauthorized: false },
      headers: { "user-agent": "unitsync-probe" },
    });
  } catch (error) {
    return failedConnection(error, new URL(url).hostname, limit, signal);
  }
  await response.body?.cancel().catch(() => {});
  const { status } = response;
  if (expectStatus === undefined ? status >= 200 && status < 300 : status === expectStatus) return { ok: true };
  const location = response.headers.get("location");
  if (expectStatus !== undefined) return { ok: false, detail: `HTTP ${status}, expected ${expectStatus}` };
  if (status >= 300 && status < 400 && location) return { ok: false, detail: `HTTP ${status} to ${location}, not followed` };
  return { ok: false, detail: `HTTP ${status}` };
}

const CONNECT_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
};

function failedConnection(error: unknown, host: string, limit: TimeLimit, signal?: AbortSignal): CheckResult {
  if (signal?.aborted) throw signal.reason;
  if (limit.expired) return { ok: false, detail: `no answer within ${formatDuration(CHECK_TIME_LIMIT_MS)}` };
  const { code = "", message = String(error) } = error as { code?: string; message?: string };
  if (/^(ENOTFOUND|EAI_|DNS_)/.test(code) || message.includes("getaddrinfo")) {
    return { ok: false, detail: `cannot resolve host ${JSON.stringify(host)}`, unresolved: true };
  }
  return { ok: false, detail: CONNECT_ERRORS[code] ?? (message || code) };
}

async function checkFile(path: string): Promise<CheckResult> {
  try {
    await Bun.file(path).stat(); // unlike exists(), this counts directories too
    return { ok: true };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { ok: false, detail: "no such file" };
    return { ok: false, detail: code === "EACCES" ? "permission denied" : String((error as Error).message) };
  }
}

async function checkExec(command: string, signal?: AbortSignal): Promise<CheckResult> {
  // A scope of our own, so the listener Bun puts on the signal goes when this check ends.
  using scope = timeLimit(0, signal);
  let child;
  try {
    // Output is kept, not shown: a failing check repeats many times, and its last words
    // make the reason in the time-out message instead.
    child = Bun.spawn(["/bin/sh", "-c", command], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      signal: scope.signal,
    });
  } catch (error) {
    return { ok: false, detail: `cannot run /bin/sh: ${(error as Error).message}` };
  }
  const stderr = outputTail(child.stderr);
  const stdout = outputTail(child.stdout);
  try {
    // Bun sends SIGTERM on abort; a command that ignores it must not hold us up.
    await Promise.race([child.exited, aborted(scope.signal)]);
  } catch (reason) {
    stderr.stop();
    stdout.stop();
    throw reason;
  }
  if (child.exitCode === 0) {
    stderr.stop();
    stdout.stop();
    return { ok: true };
  }
  // A background process started by the command may hold the pipes open: wait briefly, not for it.
  const timer = sleep(50);
  await Promise.race([Promise.all([stderr.done, stdout.done]), timer.done]);
  timer.cancel();
  stderr.stop();
  stdout.stop();
  const said = lastLine(stderr.text()) || lastLine(stdout.text());
  const outcome = child.exitCode === null ? `killed by ${child.signalCode}` : `exit code ${child.exitCode}`;
  return { ok: false, detail: said ? `${outcome}: ${said}` : outcome };
}

interface OutputTail {
  done: Promise<void>;
  text(): string;
  stop(): void;
}

/** Reads a stream to its end, keeping only its last few kilobytes. */
function outputTail(stream: ReadableStream<Uint8Array>): OutputTail {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let kept = "";
  const done = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      kept = (kept + decoder.decode(value, { stream: true })).slice(-OUTPUT_TAIL_CHARS);
    }
  })().catch(() => {});
  return { done, text: () => kept, stop: () => void reader.cancel().catch(() => {}) };
}

function lastLine(text: string): string {
  const line = text.trimEnd().split("\n").at(-1)?.trim() ?? "";
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/**
 * Checks at once, then every 15 ms (exec: after 20 ms, each pause an eighth longer up to
 * 1 s), until a check passes; rejects with a `timeout` UnitsyncError carrying the last failure after `timeoutMs`
 * (0 waits for ever), or with `signal`'s reason when it aborts.
 *
 * A host name that does not resolve is retried, not refused at once: at container boot a
 * name often resolves only once the network is up or the other container has started
 * (Docker's DNS answers "not found" until then). But a name that has never resolved after
 * `resolveGraceMs` (10 s) is most likely a typo, so that fails with `bad_request` instead of
 * hanging until the time-out, or for ever with timeout 0.
 */
export async function waitForProbe(
  probe: Probe,
  timeoutMs: number,
  signal?: AbortSignal,
  options: WaitOptions = {},
): Promise<{ checks: number; elapsedMs: number }> {
  signal?.throwIfAborted();
  const resolveGraceMs = options.resolveGraceMs ?? RESOLVE_GRACE_MS;
  const startedAt = performance.now();
  const elapsed = () => performance.now() - startedAt;
  using limit = timeLimit(timeoutMs, signal);
  let interval = probe.kind === "exec" ? EXEC_FIRST_INTERVAL_MS : SHORT_INTERVAL_MS;
  let checks = 0;
  let detail = "";
  let everResolved = false;
  // A file probe that has to wait also wakes when the file's directory changes.
  let watch: ParentWatch | undefined;
  try {
    for (;;) {
      watch?.rearm();
      checks++;
      try {
        const result = await checkOnce(probe, limit.signal);
        if (result.ok) return { checks, elapsedMs: elapsed() };
        detail = result.detail;
        everResolved ||= !result.unresolved;
        if (result.unresolved && !everResolved && elapsed() >= resolveGraceMs) {
          throw new UnitsyncError(
            "bad_request",
            `probe ${probe.spec}: ${detail} (still failing after ${formatDuration(elapsed())}): check the host name`,
          );
        }
      } catch (error) {
        if (!limit.signal.aborted) throw error;
        // The time ran out during a check: the last check that finished says more, if there was one.
        if (detail === "") detail = probe.kind === "exec" ? "the command was still running" : "no answer yet";
      }
      if (probe.kind === "file" && watch === undefined && !limit.signal.aborted) {
        watch = await (await import("./watch.ts")).watchParent(probe.path);
      }
      if (!limit.signal.aborted) await sleep(options.intervalMs ?? interval, limit.signal, watch).done;
      if (signal?.aborted) throw signal.reason;
      if (limit.expired) {
        throw new UnitsyncError("timeout", `probe ${probe.spec} did not pass within ${formatDuration(timeoutMs)}: ${detail}`);
      }
      interval = Math.min(
        MAX_INTERVAL_MS,
        probe.kind === "exec" ? interval * EXEC_INTERVAL_GROWTH : Math.max(SHORT_INTERVAL_MS, elapsed() * INTERVAL_SHARE_OF_WAIT),
      );
    }
  } finally {
    watch?.[Symbol.dispose]();
  }
}

interface TimeLimit {
  readonly signal: AbortSignal;
  readonly expired: boolean;
  [Symbol.dispose](): void;
}

/** A signal that aborts when `parent` does or after `ms` (never for 0); dispose clears the timer. */
function timeLimit(ms: number, parent?: AbortSignal): TimeLimit {
  const controller = new AbortController();
  let expired = false;
  const onParentAbort = () => controller.abort(parent?.reason);
  parent?.addEventListener("abort", onParentAbort, { once: true });
  const timer =
    ms > 0 && ms <= LONGEST_TIMER_MS
      ? setTimeout(() => {
          expired = true;
          controller.abort(new DOMException("The probe's time limit passed", "TimeoutError"));
        }, ms)
      : undefined;
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    [Symbol.dispose]() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}

/**
 * Resolves after `ms`, or at once when `signal` aborts or `watch` sees a change (even one
 * that came during the check): a pause between checks.
 */
function sleep(ms: number, signal?: AbortSignal, watch?: ParentWatch): { done: Promise<void>; cancel(): void } {
  let cancel = () => {};
  const done = new Promise<void>((resolve) => {
    if (watch?.changed) return resolve();
    const timer = setTimeout(finish, ms);
    signal?.addEventListener("abort", finish, { once: true });
    if (watch) watch.onChange = finish;
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      if (watch?.onChange === finish) watch.onChange = undefined;
      resolve();
    }
    cancel = finish;
  });
  return { done, cancel };
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
