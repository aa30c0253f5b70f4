import { isDirectory, isSymbolicLink, lstatPath, type PathStat } from "./lstat.ts";

/** Every environment variable unitsync reads or sets, by what it is for; README "Commands" documents them. */
export const ENV = {
  /** The socket, for the server and every client. */
  socketPath: "UNITSYNC_SOCKET_PATH",
  /** How long a client retries a server that is not up yet. */
  waitForServer: "UNITSYNC_WAIT_FOR_SERVER",
  /** How long a server may take to answer. */
  requestTimeout: "UNITSYNC_REQUEST_TIMEOUT",
  /** How often a waiting start reports on stderr. */
  reportEvery: "UNITSYNC_REPORT_EVERY",
  /** Set by `up` for each script: its name, which the script's starts pass on to the server. */
  script: "UNITSYNC_SCRIPT",
  /**
   * Set by `up` for its server: the start-up's root span (a W3C traceparent), chosen by `up` so
   * that the scripts' TRACEPARENT is known before the server answers and stays the same when
   * the server is started again.
   */
  traceRoot: "UNITSYNC_TRACE_ROOT",
  /** Coder's socket variable, read by the `coder` personality and `serve --coder`. */
  coderSocketPath: "CODER_AGENT_SOCKET_PATH",
  /** A real Coder CLI, to which the `coder` personality hands every command but `exp sync`. */
  realCoder: "UNITSYNC_REAL_CODER",
} as const;

/** Where Coder's agent serves when nothing says otherwise. */
export const CODER_DEFAULT_SOCKET_PATH = "/tmp/coder-agent.sock";

/** Coder's choice: `--socket-path`, else CODER_AGENT_SOCKET_PATH, else /tmp/coder-agent.sock. */
export function chooseCoderSocketPath(flag: string | undefined, env = process.env[ENV.coderSocketPath]): SocketPathChoice {
  if (flag) return { path: flag, source: "flag" };
  if (env) return { path: env, source: "env" };
  return { path: CODER_DEFAULT_SOCKET_PATH, source: "tmp", why: "Coder's default" };
}

/**
 * Where the socket path came from, so `ping` and error messages can say: a flag, the
 * environment, the user's private runtime directory, or the fallback under /tmp.
 */
export type SocketPathSource = "flag" | "env" | "runtime-dir" | "tmp";

export interface SocketPathChoice {
  path: string;
  source: SocketPathSource;
  /** For `ping`: the variable that named the path, or why the default is where it is (e.g. `XDG_RUNTIME_DIR is not set`). */
  why?: string;
}

/**
 * The per-user default: `$XDG_RUNTIME_DIR/unitsync/unitsync.sock` when that directory is the
 * user's own and private (as tmux and systemd user services use it), else a directory of the
 * user's under /tmp. Either way two users never share a server.
 */
export function defaultSocketPath(env: Record<string, string | undefined> = process.env): SocketPathChoice {
  const uid = process.getuid?.() ?? -1;
  const runtimeDir = env.XDG_RUNTIME_DIR;
  const tmp = `/tmp/unitsync-${uid < 0 ? "user" : uid}/unitsync.sock`;
  if (!runtimeDir) return { path: tmp, source: "tmp", why: "XDG_RUNTIME_DIR is not set" };
  const unusable = runtimeDirProblem(runtimeDir, uid);
  if (unusable) return { path: tmp, source: "tmp", why: `XDG_RUNTIME_DIR ${runtimeDir} ${unusable}` };
  return { path: `${runtimeDir.replace(/\/+$/, "")}/unitsync/unitsync.sock`, source: "runtime-dir", why: "XDG_RUNTIME_DIR" };
}

/** Why the runtime directory cannot hold our socket, or "" when it can. */
function runtimeDirProblem(directory: string, uid: number): string {
  if (!directory.startsWith("/")) return "is not an absolute path";
  let stat: PathStat;
  try {
    stat = lstatPath(directory);
    // Rare (a runtime directory reached through a link): only then is node:fs worth its load time.
    if (isSymbolicLink(stat)) stat = (require("node:fs") as typeof import("node:fs")).statSync(directory);
  } catch {
    return "is not a directory";
  }
  if (!isDirectory(stat)) return "is not a directory";
  if (stat.uid !== uid) return `belongs to uid ${stat.uid}, not to you`;
  if ((stat.mode & 0o022) !== 0) return "is writable by others";
  return "";
}

/** `--socket-path` wins over `UNITSYNC_SOCKET_PATH`, which wins over the default. */
export function chooseSocketPath(flag: string | undefined, env: Record<string, string | undefined> = process.env): SocketPathChoice {
  if (flag !== undefined) return { path: flag, source: "flag" };
  // Coder's variable second: an image that already sets it needs no other.
  for (const name of [ENV.socketPath, ENV.coderSocketPath]) {
    const path = env[name];
    if (path) return { path, source: "env", why: name };
  }
  return defaultSocketPath(env);
}
