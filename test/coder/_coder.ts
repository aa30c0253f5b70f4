// Coder's tests, re-run black-box: a `unitsync serve --coder` child per test, and the
// compiled binary run under the name `coder` (a symbolic link) as Coder's scripts run it.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, testEnv, type Result } from "../helpers.ts";
import { Child, waitUntilAnswering } from "../e2e/_bash.ts";

export interface CoderServed extends AsyncDisposable {
  dir: string;
  socketPath: string;
  server: Child;
  /** The `coder` link, first on `env`'s PATH. */
  coder: string;
  /** Clients' environment: CODER_AGENT_SOCKET_PATH and the `coder` link on PATH. */
  env: Record<string, string>;
  /** `coder exp sync ARGS...` to completion. */
  sync(...args: string[]): Promise<Result>;
  /** `coder exp sync ARGS...`, not waited for. */
  spawnSync(...args: string[]): Child;
  /** Runs each `coder exp sync` command in turn; fails on the first that fails. */
  seed(commands: string[][]): Promise<void>;
}

/** A private directory holding a `coder` link to the binary, and the environment that finds it. */
export function coderLink(): { dir: string; coder: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), "unitsync-coder-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  const coder = join(bin, "coder");
  symlinkSync(BINARY, coder);
  return { dir, coder, env: testEnv({ PATH: `${bin}:${process.env.PATH ?? ""}` }) };
}

/** Spawns `unitsync serve --coder` on a private socket and waits until it answers. */
export async function serveCoder(): Promise<CoderServed> {
  const { dir, coder, env: linkEnv } = coderLink();
  const socketPath = join(dir, "coder-agent.sock");
  const env = { ...linkEnv, CODER_AGENT_SOCKET_PATH: socketPath };
  const server = new Child([BINARY, "serve", "--coder"], { env });
  const served: CoderServed = {
    dir,
    socketPath,
    server,
    coder,
    env,
    sync: (...args) => new Child([coder, "exp", "sync", ...args], { cwd: dir, env }).result,
    spawnSync: (...args) => new Child([coder, "exp", "sync", ...args], { cwd: dir, env }),
    async seed(commands) {
      for (const command of commands) {
        const result = await served.sync(...command);
        if (result.exitCode !== 0) throw new Error(`seeding: coder exp sync ${command.join(" ")} failed: ${result.stderr}`);
      }
    },
    async [Symbol.asyncDispose]() {
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

export const lines = (...all: string[]): string => `${all.join("\n")}\n`;
export const ok = (...stdout: string[]): Result => ({ stdout: lines(...stdout), stderr: "", exitCode: 0 });
export const json = (value: unknown): Result => ({ stdout: `${JSON.stringify(value, null, 2)}\n`, stderr: "", exitCode: 0 });

/** What Coder prints for a failed `coder exp sync SUBCOMMAND`: its headline, then the error; exit 1. */
export function failed(subcommand: string, message: string): Result {
  const full = `coder exp sync ${subcommand}`;
  return {
    stdout: "",
    stderr: `Encountered an error running "${full}", see "${full} --help" for more information\nerror: ${message}\n`,
    exitCode: 1,
  };
}
