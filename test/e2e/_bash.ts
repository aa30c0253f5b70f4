// Helpers for the end-to-end tests: a real `unitsync serve` per test, and bash scripts
// or client commands run against it as child processes whose output can be awaited.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "bun:test";
import { VERSION } from "../../src/protocol/index.ts";
import { BINARY, testEnv, type Result } from "../helpers.ts";

export interface ChildOptions {
  cwd?: string;
  env?: Record<string, string>;
}

/**
 * A running child process. Its stdout and stderr are collected as they arrive, so a test can
 * wait for a line (`waitForStdout`) and later read the whole `result`. Killed when disposed.
 */
export class Child implements AsyncDisposable {
  stdout = "";
  stderr = "";
  readonly result: Promise<Result>;
  readonly process: Bun.Subprocess<"ignore", "pipe", "pipe">;
  private listeners = new Set<() => void>();

  constructor(command: string[], { cwd, env = testEnv() }: ChildOptions = {}) {
    this.process = Bun.spawn(command, { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const stdout = this.collect(this.process.stdout, (text) => (this.stdout += text));
    const stderr = this.collect(this.process.stderr, (text) => (this.stderr += text));
    this.result = Promise.all([stdout, stderr, this.process.exited]).then(([, , exitCode]) => {
      this.notify();
      return { stdout: this.stdout, stderr: this.stderr, exitCode };
    });
  }

  get pid(): number {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Resolves once stdout contains `text`; fails, showing the output, if the child exits first. */
  waitForStdout(text: string, ms = 10_000): Promise<void> {
    return this.waitFor(() => this.stdout.includes(text), `stdout to contain ${JSON.stringify(text)}`, ms);
  }

  /** Resolves once stderr contains `text`; fails, showing the output, if the child exits first. */
  waitForStderr(text: string, ms = 10_000): Promise<void> {
    return this.waitFor(() => this.stderr.includes(text), `stderr to contain ${JSON.stringify(text)}`, ms);
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.running) this.process.kill(signal);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.kill("SIGKILL");
    await this.result;
  }

  private waitFor(condition: () => boolean, what: string, ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (condition()) return done(resolve);
        // Exited: the streams may still hold the last bytes, so decide once the result is in.
        if (!this.running) void this.result.then(() => done(condition() ? resolve : () => reject(this.failure(what))));
      };
      const timer = setTimeout(() => done(() => reject(this.failure(what))), ms);
      let settled = false;
      const done = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  private failure(what: string): Error {
    const state = this.running ? "still running" : `exited ${this.process.exitCode ?? this.process.signalCode}`;
    return new Error(
      `waited in vain for ${what} (child ${state})\n--- stdout\n${this.stdout}--- stderr\n${this.stderr}`,
    );
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private async collect(stream: ReadableStream<Uint8Array>, append: (text: string) => void): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      append(decoder.decode(chunk, { stream: true }));
      this.notify();
    }
    append(decoder.decode());
  }
}

export interface ServeOptions {
  /** Where to serve, relative to the test's private directory; `unitsync.sock` when omitted. */
  socketName?: string;
  /** More arguments for `serve`. */
  args?: string[];
  /** More environment for `serve` (the clients do not get it). */
  env?: Record<string, string>;
}

/** A `unitsync serve` child on a socket in a private temp dir, with a bin dir holding `unitsync`. */
export interface Served extends AsyncDisposable {
  /** The private directory: scripts run here and write their logs here. */
  dir: string;
  socketPath: string;
  server: Child;
  /** Environment for clients: no colour, the socket path, and `unitsync` on PATH. */
  env: Record<string, string>;
  /** Runs one client command to completion, socket path from the environment. */
  run(...args: string[]): Promise<Result>;
  /** Starts a client command without waiting for it. */
  spawn(...args: string[]): Child;
  /** Starts a bash script (with `set -eu`) in `dir`, without waiting for it. */
  bash(script: string): Child;
}

/** Spawns `unitsync serve` and waits until it answers `ping`. */
export async function serve({ socketName = "unitsync.sock", args = [], env: serverEnv = {} }: ServeOptions = {}): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), "unitsync-e2e-"));
  const binDir = join(dir, ".bin");
  mkdirSync(binDir);
  symlinkSync(BINARY, join(binDir, "unitsync"));
  const socketPath = join(dir, socketName);
  const env = testEnv({ UNITSYNC_SOCKET_PATH: socketPath, PATH: `${binDir}:${process.env.PATH ?? ""}` });
  const server = new Child([BINARY, "serve", "--socket-path", socketPath, ...args], { env: testEnv(serverEnv) });

  const served: Served = {
    dir,
    socketPath,
    server,
    env,
    run: (...args) => run(args, env),
    spawn: (...args) => new Child([BINARY, ...args], { cwd: dir, env }),
    bash: (script) => new Child(["bash", "-c", `set -eu\n${script}`], { cwd: dir, env }),
    async [Symbol.asyncDispose]() {
      // A polite stop first, so waiting clients of this test end too; then make sure.
      server.kill("SIGTERM");
      await Promise.race([server.result, Bun.sleep(5_000)]);
      await server[Symbol.asyncDispose]();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitUntilAnswering(socketPath, server);
  } catch (error) {
    await served[Symbol.asyncDispose]();
    throw error;
  }
  return served;
}

/** Waits until a server answers `ping` on `socketPath`; fails at once if `server` exits. */
export async function waitUntilAnswering(socketPath: string, server: Child): Promise<void> {
  // One client that keeps retrying the connection itself, against the server giving up.
  await using ping = new Child([BINARY, "ping", "--socket-path", socketPath, "--wait-for-server", "10s"]);
  const failure = await Promise.race([
    ping.result.then(({ exitCode, stderr }) => (exitCode === 0 ? undefined : `no server answered on ${socketPath}: ${stderr}`)),
    server.result.then(({ exitCode, stderr }) => `unitsync serve exited ${exitCode}:\n${stderr}`),
  ]);
  if (failure !== undefined) throw new Error(failure);
}

/** Runs the binary to completion with `env` (NO_COLOR and no inherited socket path by default). */
export async function run(args: string[], env: Record<string, string> = testEnv()): Promise<Result> {
  const child = new Child([BINARY, ...args], { env });
  return child.result;
}

/** The lines of a shared log file the scripts append to. */
export async function logLines(path: string): Promise<string[]> {
  const text = await Bun.file(path).text();
  return text.split("\n").filter((line) => line !== "");
}

/** A start-up script in the style: declare, wait, work, append to `log`, complete. */
export function unitScript(unit: string, dependencies: string[] = [], work = ""): string {
  return [
    dependencies.length > 0 ? `unitsync want ${unit} ${dependencies.join(" ")}` : "",
    `unitsync start ${unit}`,
    `echo "start ${unit}" >> log`,
    work,
    `echo "done ${unit}" >> log`,
    `unitsync complete ${unit}`,
  ]
    .filter((line) => line !== "")
    .join("\n");
}

/** The exact stdout of `unitScript` when the unit had to wait for every dependency. */
export function waitedOutput(unit: string, dependencies: string[]): string {
  const list = `[${dependencies.join(", ")}]`;
  return [
    `Unit "${unit}" declared dependencies: ${list}`,
    `Unit "${unit}" is waiting for dependencies to be satisfied: ${list}`,
    `Unit "${unit}" finished waiting for dependencies: ${list}`,
    "Success",
    "",
  ].join("\n");
}

/** The exact stdout of `unitScript` for a unit with no dependencies. */
export function rootOutput(unit: string): string {
  return `Unit "${unit}" started with no dependencies\nSuccess\n`;
}

export const ok = (stdout: string): Result => ({ stdout, stderr: "", exitCode: 0 });

/** A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it, then it is freed). */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What `ping` prints for a server with `pid` and `units` units; its uptime varies. */
export function pinged(pid: number, socketPath: string, source: string, units = 0): Result {
  const line = `Success: unitsync ${VERSION} (pid ${pid}) on ${socketPath} (${source}), up `;
  const count = units === 1 ? "1 unit" : `${units} units`;
  return ok(expect.stringMatching(new RegExp(`^${escapeRegExp(line)}\\S+, ${count}\\n$`)));
}

/** The lines of a command's output, without the final newline. */
export const linesOf = (text: string): string[] => (text === "" ? [] : text.replace(/\n$/, "").split("\n"));
