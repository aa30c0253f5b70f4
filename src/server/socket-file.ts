import { UnitsyncError } from "../protocol/index.ts";

/** sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

// Built-ins are imported where they are used: the bundler would otherwise hoist them
// into the entry and every client command would pay for loading them.
const fs = () => import("node:fs/promises");
const pathModule = () => import("node:path");

/** Held by a server for as long as it serves a path; see `lockSocketPath`. */
export interface SocketLock {
  release(): void;
}

/**
 * Takes the lock on `socketPath` that makes two `serve`s racing for one path safe: only the
 * holder may remove a stale socket file and bind, so the loser never touches the winner's
 * file. The lock is a Linux abstract-namespace socket named after the path: the kernel
 * frees it when the holder dies, even by SIGKILL, so it is never left stale. Elsewhere there
 * is no lock and only the liveness check in `claimSocketPath` guards the path.
 */
export async function lockSocketPath(socketPath: string): Promise<SocketLock> {
  if (process.platform !== "linux") return { release() {} };
  const { resolve } = await pathModule();
  const name = `\0unitsync-serve-${Bun.hash(resolve(socketPath)).toString(16)}`;
  try {
    const listener = Bun.listen({ unix: name, socket: { open: (socket) => void socket.end(), data() {} } });
    return { release: () => listener.stop(true) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    if (await isListening(socketPath)) throw alreadyServed(socketPath);
    throw new UnitsyncError("conflict", `another unitsync server is starting on ${socketPath} right now`);
  }
}

/**
 * Makes `socketPath` ready to bind: its directory exists and belongs to us (created
 * 0700 when missing; 0710 and group `gid` when the socket is shared with a group), and
 * nothing lives at the path but a stale socket, which is removed. Refuses a live server,
 * a symlink, a foreign file or a directory owned by someone else, root included: whoever
 * owns the directory could swap the socket under the server's clients.
 */
export async function claimSocketPath(socketPath: string, gid?: number): Promise<void> {
  const bytes = new TextEncoder().encode(socketPath).length;
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new UnitsyncError(
      "usage",
      `socket path is ${bytes} bytes long; Unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}: choose a shorter --socket-path`,
    );
  }
  const { dirname } = await pathModule();
  await claimDirectory(dirname(socketPath), gid);

  const { lstat, unlink } = await fs();
  const existing = await lstat(socketPath).catch(ignoreMissing);
  if (!existing) return;
  if (existing.isSymbolicLink()) {
    throw new UnitsyncError("conflict", `${socketPath} is a symbolic link; refusing to serve there`);
  }
  if (!existing.isSocket()) {
    throw new UnitsyncError(
      "conflict",
      `${socketPath} exists and is not a socket; remove it or choose another --socket-path`,
    );
  }
  if (existing.uid !== myUid()) {
    throw new UnitsyncError("conflict", `${socketPath} belongs to uid ${existing.uid}, not to you (uid ${myUid()}); choose another --socket-path`);
  }
  if (await isListening(socketPath)) throw alreadyServed(socketPath);
  await unlink(socketPath).catch(ignoreMissing);
}

/** Restricts the bound socket to its owner, or to its owner and group `gid` (0660). */
export async function restrictSocket(socketPath: string, gid?: number): Promise<void> {
  const { chmod, chown } = await fs();
  if (gid === undefined) return chmod(socketPath, 0o600);
  await chown(socketPath, myUid(), gid);
  await chmod(socketPath, 0o660);
}

/** Removes the socket file if it is still there, for shutdown paths that did not remove it. */
export async function removeSocket(socketPath: string): Promise<void> {
  const { unlink } = await fs();
  await unlink(socketPath).catch(ignoreMissing);
}

async function claimDirectory(directory: string, gid: number | undefined): Promise<void> {
  const { mkdir, stat } = await fs();
  const existing = await stat(directory).catch(ignoreMissing);
  if (!existing) {
    await mkdir(directory, { recursive: true, mode: 0o700 });
    return openToGroup(directory, gid);
  }
  if (!existing.isDirectory()) {
    throw new UnitsyncError("conflict", `${directory} is not a directory; choose another --socket-path`);
  }
  // A root-owned sticky directory such as /tmp: others can neither remove nor replace our socket.
  const sharedButSticky = existing.uid === 0 && (existing.mode & 0o1000) !== 0;
  if (existing.uid !== myUid() && !sharedButSticky) {
    throw new UnitsyncError(
      "conflict",
      `socket directory ${directory} belongs to uid ${existing.uid}, not to you (uid ${myUid()}); choose another --socket-path`,
    );
  }
  if (gid === undefined) return;
  const groupCanEnter = (existing.gid === gid && (existing.mode & 0o010) !== 0) || (existing.mode & 0o001) !== 0;
  if (groupCanEnter) return;
  // Our own private directory (the default one from an earlier run, say): open it to the group.
  if (existing.uid === myUid() && (existing.mode & 0o077) === 0) return openToGroup(directory, gid);
  throw new UnitsyncError(
    "conflict",
    `group ${gid} cannot reach the socket: ${directory} is mode ${(existing.mode & 0o7777).toString(8)} and group ${existing.gid}; choose another --socket-path`,
  );
}

/** 0700 for the owner alone; with a group, 0710: its members may reach the socket, not list the directory. */
async function openToGroup(directory: string, gid: number | undefined): Promise<void> {
  const { chmod, chown } = await fs();
  if (gid !== undefined) await chown(directory, myUid(), gid);
  await chmod(directory, gid === undefined ? 0o700 : 0o710);
}

/** True when something accepts connections on the socket; a refused connection means stale. */
async function isListening(socketPath: string): Promise<boolean> {
  try {
    const socket = await Bun.connect({
      unix: socketPath,
      socket: { data() {}, open() {}, error() {} },
    });
    socket.end();
    return true;
  } catch {
    return false;
  }
}

/** The refusal for a path a live server holds. */
export function alreadyServed(socketPath: string): UnitsyncError {
  return new UnitsyncError("conflict", `another unitsync server is already listening on ${socketPath}`);
}

function myUid(): number {
  return process.getuid?.() ?? -1;
}

function ignoreMissing(error: NodeJS.ErrnoException): undefined {
  if (error.code === "ENOENT") return undefined;
  throw error;
}
