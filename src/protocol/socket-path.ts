/** The environment variable that names the socket, for the server and every client. */
export const SOCKET_PATH_ENV = "UNITSYNC_SOCKET_PATH";

/** Where the socket path came from, so `ping` and error messages can say. */
export type SocketPathSource = "flag" | "env" | "default";

export interface SocketPathChoice {
  path: string;
  source: SocketPathSource;
}

/** Per-user default: a private directory under /tmp, so two users never share a server. */
export function defaultSocketPath(): string {
  return `/tmp/unitsync-${process.getuid?.() ?? "user"}/unitsync.sock`;
}

/** `--socket-path` wins over `UNITSYNC_SOCKET_PATH`, which wins over the default. */
export function chooseSocketPath(flag: string | undefined, env = process.env[SOCKET_PATH_ENV]): SocketPathChoice {
  if (flag) return { path: flag, source: "flag" };
  if (env) return { path: env, source: "env" };
  return { path: defaultSocketPath(), source: "default" };
}
