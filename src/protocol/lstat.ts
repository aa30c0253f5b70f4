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
  chosen ??= loadStatx() ?? nodeLstat;
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

/** The part of Bun's native FFI object that `bun:ffi` wraps: types as numbers, pointers as numbers. */
interface NativeFfi {
  dlopen(library: string, symbols: Record<string, { args: number[]; returns: number }>): { symbols: Record<string, (...args: number[]) => number> };
  ptr(view: ArrayBufferView): number;
}

/** bun:ffi's FFIType numbers for the one signature used (checked against bun:ffi by the tests). */
export const FFI_TYPES = { i32: 5, u32: 6, ptr: 12 } as const;

/**
 * Bun's native FFI object, which `bun:ffi` wraps: calling it directly skips loading that
 * module and the JS wrapper it compiles for each symbol, about half of the FFI's start-up
 * (1 to 2 ms of a client). Not documented, so `bun:ffi` stays the fallback.
 */
function nativeFfi(): NativeFfi {
  const native = (Bun as unknown as { FFI?: NativeFfi }).FFI;
  if (typeof native?.dlopen === "function" && typeof native.ptr === "function") return native;
  return require("bun:ffi") as unknown as NativeFfi;
}

function loadStatx(): Lstat | undefined {
  if (process.platform !== "linux") return undefined;
  let ffi: NativeFfi;
  let statx: (...args: number[]) => number;
  try {
    ffi = nativeFfi();
    const { i32, u32, ptr } = FFI_TYPES;
    statx = ffi.dlopen("libc.so.6", { statx: { args: [i32, ptr, i32, u32, ptr], returns: i32 } }).symbols.statx!;
  } catch {
    return undefined;
  }
  const AT_FDCWD = -100;
  const AT_SYMLINK_NOFOLLOW = 0x100;
  const STATX_BASIC_STATS = 0x7ff;
  // struct statx: stx_uid at 20, stx_gid at 24, stx_mode (u16) at 28; 256 bytes in all.
  const buffer = new Uint8Array(256);
  const view = new DataView(buffer.buffer);
  const encoder = new TextEncoder();
  return (path) => {
    const name = encoder.encode(`${path}\0`);
    // A failure (a missing directory before the server makes it, mostly) asks node:fs again
    // for errno's name: reading errno through FFI would cost every client a second symbol.
    // One that node:fs then passes means statx itself fails here (ENOSYS): node:fs from then on.
    if (statx(AT_FDCWD, ffi.ptr(name), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, ffi.ptr(buffer)) !== 0) {
      const stat = nodeLstat(path);
      chosen = nodeLstat;
      return stat;
    }
    return { uid: view.getUint32(20, true), gid: view.getUint32(24, true), mode: view.getUint16(28, true) };
  };
}
