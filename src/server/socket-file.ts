import { isSharedSticky, modeText, resolveSafely, UnitsyncError, UnsafePath, type PathStat, type SafeDirectory } from "../protocol/index.ts";

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

// Built-ins are loaded where they are used: the bundler would otherwise hoist them into the
// entry and every client command would pay for loading them.
const fs = () => import("node:fs/promises");
const pathModule = () => import("node:path");

/** A socket path the server may bind: checked, locked, and with what the bind must produce. */
export interface ClaimedPath {
  /** The umask to bind under, so the socket is born with its final mode: nothing is changed later. */
  umask: number;
  /** The socket's mode and group after the bind, which the server checks before it answers anyone. */
  expected: { mode: number; gid: number | undefined };
  /** Frees the single-instance lock; the server holds it for as long as it serves the path. */
  release(): void;
}

/**
 * Makes `socketPath` ready to bind, refusing anything another user could have planted or
 * could still change. Its directory must be safe all the way down (see `resolveSafely`),
 * belong to us and be writable by nobody else; a missing one is created 0700, step by step.
 * With a group (`serve --group`), the directory becomes ours, of that group, 2710: members
 * may reach the socket, and the setgid bit gives the socket the group at birth, so it is never
 * chowned or chmodded by path. Then the path's lock is taken (see `lockPath`), and only its
 * holder removes a stale socket, so two servers racing for one path never touch each other's
 * file. A socket directly in a sticky root-owned directory such as /tmp is allowed without a
 * group: nobody else may replace our file there.
 */
export async function claimSocketPath(socketPath: string, gid?: number): Promise<ClaimedPath> {
  const bytes = new TextEncoder().encode(socketPath).length;
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new UnitsyncError(
      "usage",
      `socket path is ${bytes} bytes long; Unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}: choose a shorter --socket-path`,
    );
  }
  if (socketPath.endsWith("/")) throw new UnitsyncError("usage", `socket path ${socketPath} names a directory; add a file name`);
  const { dirname, resolve } = await pathModule();
  await claimDirectory(dirname(resolve(socketPath)), gid);
  const lock = await lockPath(socketPath);
  try {
    await removeStaleSocket(socketPath);
  } catch (error) {
    lock.release();
    throw error;
  }
  return {
    umask: gid === undefined ? 0o177 : 0o117,
    expected: { mode: gid === undefined ? 0o600 : 0o660, gid },
    release: lock.release,
  };
}

/** Checks what the bind made: a socket of ours with the mode and group it was meant to have. */
export async function checkBoundSocket(socketPath: string, { expected }: ClaimedPath): Promise<void> {
  const { lstat } = await fs();
  const stat = await lstat(socketPath);
  const right =
    stat.isSocket() &&
    stat.uid === myUid() &&
    (stat.mode & 0o777) === expected.mode &&
    (expected.gid === undefined || stat.gid === expected.gid);
  if (!right) {
    throw new UnitsyncError(
      "conflict",
      `the socket bound at ${socketPath} came out mode ${modeText(stat)}, owner ${stat.uid}, group ${stat.gid}, not mode ${expected.mode.toString(8)}${expected.gid === undefined ? "" : ` of group ${expected.gid}`}; does this file system honour permissions? choose another --socket-path`,
    );
  }
}

/** Removes the socket file if it is still there, for shutdown paths that did not remove it. */
export async function removeSocket(socketPath: string): Promise<void> {
  const { unlink } = await fs();
  await unlink(socketPath).catch(ignoreMissing);
}

/** The refusal for a path a live server holds. */
export function alreadyServed(socketPath: string): UnitsyncError {
  return new UnitsyncError("conflict", `another unitsync server is already listening on ${socketPath}`);
}

/** The socket directory, safe and ready for a group if there is one; see `claimSocketPath`. */
async function claimDirectory(directory: string, gid: number | undefined): Promise<SafeDirectory> {
  const trusted = (uid: number) => uid === myUid() || uid === 0;
  const safe = await createSafely(directory, trusted);
  const { path, stat } = safe;
  if (isSharedSticky(stat)) {
    if (gid === undefined) return safe;
    throw new UnitsyncError(
      "usage",
      `serve --group needs a socket directory of its own, not the shared ${path}: use e.g. --socket-path ${path}/unitsync-shared/unitsync.sock`,
    );
  }
  if (stat.uid !== myUid()) {
    throw new UnitsyncError(
      "conflict",
      `socket directory ${directory} belongs to uid ${stat.uid}, not to you (uid ${myUid()}); choose another --socket-path`,
    );
  }
  if ((stat.mode & 0o022) !== 0) {
    throw new UnitsyncError(
      "conflict",
      `socket directory ${directory} is mode ${modeText(stat)}: others could replace the socket; run "chmod go-w ${directory}" or choose another --socket-path`,
    );
  }
  if (gid === undefined) return safe;
  if (stat.gid === gid && (stat.mode & 0o010) !== 0) {
    if ((stat.mode & 0o2000) === 0) await changeDirectory(safe, undefined, stat.mode | 0o2000);
    return safe;
  }
  // Our own private directory (new, or the default one from an earlier run): open it to the group.
  if ((stat.mode & 0o077) === 0) {
    await changeDirectory(safe, gid, 0o2710);
    return safe;
  }
  throw new UnitsyncError(
    "conflict",
    `group ${gid} cannot reach the socket: ${directory} is mode ${modeText(stat)} and group ${stat.gid}; choose another --socket-path`,
  );
}

/** `resolveSafely`, creating each missing directory (0700) inside one already proved safe. */
async function createSafely(directory: string, trusted: (uid: number) => boolean): Promise<SafeDirectory> {
  const { mkdir } = await fs();
  // Each round creates one more step; a path that keeps changing under us is given up on.
  for (let round = 0; round < 64; round++) {
    try {
      return resolveSafely(directory, trusted);
    } catch (error) {
      if (!(error instanceof UnsafePath)) throw error;
      const missing = error.missing;
      if (missing === undefined) {
        throw new UnitsyncError("conflict", `socket directory ${directory} is not safe: ${error.message}; choose another --socket-path`);
      }
      // mkdir never follows a link at the last step: whatever appeared there meanwhile is checked on the next walk.
      await mkdir(missing, { mode: 0o700 }).catch((failure: NodeJS.ErrnoException) => {
        if (failure.code === "EEXIST") return;
        throw new UnitsyncError("conflict", `cannot create the socket directory ${missing} (${failure.code}); choose another --socket-path`);
      });
    }
  }
  throw new UnitsyncError("conflict", `socket directory ${directory} kept changing while the server created it; try again`);
}

/**
 * Changes the group or mode of a directory proved safe, through a descriptor opened without
 * following links and checked to be the very directory that was proved safe.
 */
async function changeDirectory({ path }: SafeDirectory, gid: number | undefined, mode: number): Promise<void> {
  const { lstat, open, constants } = await import("node:fs").then((m) => ({ ...m.promises, constants: m.constants }));
  const proved = await lstat(path);
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const opened = await handle.stat();
    if (opened.ino !== proved.ino || opened.dev !== proved.dev || opened.uid !== myUid()) {
      throw new UnitsyncError("conflict", `socket directory ${path} changed while the server was checking it; try again`);
    }
    if (gid !== undefined) await handle.chown(myUid(), gid);
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/** Refuses whatever is at the socket path unless it is a stale socket of ours, which it removes. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const { lstat, unlink } = await fs();
  const existing = await lstat(socketPath).catch(ignoreMissing);
  if (!existing) return;
  if (existing.isSymbolicLink()) {
    throw new UnitsyncError("conflict", `${socketPath} is a symbolic link; refusing to serve there`);
  }
  if (!existing.isSocket()) {
    throw new UnitsyncError("conflict", `${socketPath} exists and is not a socket; remove it or choose another --socket-path`);
  }
  if (existing.uid !== myUid()) {
    throw new UnitsyncError(
      "conflict",
      `${socketPath} belongs to uid ${existing.uid}, not to you (uid ${myUid()}); choose another --socket-path`,
    );
  }
  if (await isListening(socketPath)) throw alreadyServed(socketPath);
  await unlink(socketPath).catch(ignoreMissing);
}

/**
 * The lock that makes two `serve`s racing for one path safe: an exclusive `flock` on
 * `<socket>.lock`, a file in the socket's directory that only we can write, so nobody else
 * can take the lock first. The kernel frees it when the holder dies, even by SIGKILL, so it
 * is never stale; the file stays (removing it would let a third server lock a fresh file
 * while a second still holds the old one).
 */
async function lockPath(socketPath: string): Promise<{ release(): void }> {
  const flock = await loadFlock();
  if (!flock) return { release() {} };
  const { openSync, fstatSync, closeSync, constants } = await import("node:fs");
  const lockFile = `${socketPath}.lock`;
  let fd: number;
  try {
    fd = openSync(lockFile, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UnitsyncError("conflict", `cannot serve on ${socketPath}: cannot create its lock file ${lockFile} (${code}); choose another --socket-path`);
  }
  const stat = fstatSync(fd);
  if (!stat.isFile() || stat.uid !== myUid()) {
    closeSync(fd);
    throw new UnitsyncError(
      "conflict",
      `the lock file ${lockFile} belongs to uid ${stat.uid}, not to you (uid ${myUid()}); remove it or choose another --socket-path`,
    );
  }
  if (flock(fd) === 0) return { release: () => closeSync(fd) };
  closeSync(fd);
  if (await isListening(socketPath)) throw alreadyServed(socketPath);
  throw new UnitsyncError("conflict", `another unitsync server is starting on ${socketPath} right now`);
}

/** libc's flock(fd, LOCK_EX | LOCK_NB), or undefined where there is none to call (not Linux). */
async function loadFlock(): Promise<((fd: number) => number) | undefined> {
  if (process.platform !== "linux") return undefined;
  const { dlopen, FFIType } = await import("bun:ffi");
  let libc;
  try {
    // musl's loader answers "libc.so.6" with itself, so one name serves glibc and musl alike.
    libc = dlopen("libc.so.6", { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
  } catch {
    return undefined; // no FFI here: only the liveness check guards the path, as elsewhere
  }
  const LOCK_EX = 2;
  const LOCK_NB = 4;
  return (fd) => libc.symbols.flock(fd, LOCK_EX | LOCK_NB);
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

function myUid(): number {
  return process.getuid?.() ?? -1;
}

function ignoreMissing(error: NodeJS.ErrnoException): undefined {
  if (error.code === "ENOENT") return undefined;
  throw error;
}
