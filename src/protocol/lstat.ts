import { ERRNO_NAMES, libc, type Libc } from "./libc.ts";

/** What the path checks need of lstat(2): owner, group, and the mode with its file-type bits. */
export interface PathStat {
  uid: number;
  gid: number;
  mode: number;
}

const S_IFMT = 0o170000;
export const isDirectory = (stat: PathStat) => (stat.mode & S_IFMT) === 0o040000;
export const isSymbolicLink = (stat: PathStat) => (stat.mode & S_IFMT) === 0o120000;

/** A failed lstat, with the errno name node:fs would give it (`ENOENT`, `EACCES`, ...). */
export class LstatError extends Error {
  constructor(
    readonly code: string,
    path: string,
  ) {
    super(`${code}: lstat ${path}`);
  }
}

type Lstat = (path: string) => PathStat;
let chosen: Lstat | undefined;

/**
 * lstat(2), synchronous. Every client checks the socket's path before it connects, and
 * loading node:fs costs a Bun 1.4 client about 3 ms, half of a whole `ping`; so on Linux this
 * calls statx(2) through Bun's FFI (its struct is the same on every architecture), and falls
 * back to node:fs where libc has no statx (glibc before 2.28, older musl) or the kernel
 * refuses it.
 */
export function lstatPath(path: string): PathStat {
  // A C string ends at the first NUL: the path checked would not be the path used.
  if (path.includes("\0")) throw new LstatError("EINVAL", path);
  chosen ??= statxOf(libc()) ?? nodeLstat;
  return chosen(path);
}

function nodeLstat(path: string): PathStat {
  const { lstatSync } = require("node:fs") as typeof import("node:fs");
  try {
    const { uid, gid, mode } = lstatSync(path);
    return { uid, gid, mode };
  } catch (error) {
    throw new LstatError((error as NodeJS.ErrnoException).code ?? "EIO", path);
  }
}

function statxOf(c: Libc | undefined): Lstat | undefined {
  if (!c) return undefined;
  const AT_FDCWD = -100;
  const AT_SYMLINK_NOFOLLOW = 0x100;
  const STATX_BASIC_STATS = 0x7ff;
  // struct statx: stx_uid at 20, stx_gid at 24, stx_mode (u16) at 28; 256 bytes in all.
  const buffer = new Uint8Array(256);
  const view = new DataView(buffer.buffer);
  const encoder = new TextEncoder();
  return (path) => {
    const name = encoder.encode(`${path}\0`);
    if (c.statx(AT_FDCWD, c.ptr(name), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, c.ptr(buffer)) !== 0) {
      const errno = c.errno();
      if (ERRNO_NAMES[errno] === "ENOSYS") {
        chosen = nodeLstat;
        return nodeLstat(path);
      }
      throw new LstatError(ERRNO_NAMES[errno] ?? `errno ${errno}`, path);
    }
    return { uid: view.getUint32(20, true), gid: view.getUint32(24, true), mode: view.getUint16(28, true) };
  };
}
