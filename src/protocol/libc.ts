/**
 * The few libc calls a client makes on every run, through Bun's FFI, loaded once: statx(2)
 * for the socket path's trust check, the calls of one blocking exchange over a Unix
 * socket, and localtime_r(3) for the local time of a log line or an event. Loading node:fs costs a Bun 1.4 client about 3 ms, and `Bun.connect` about 2 ms
 * more than these calls, of a `ping` whose own work is about 10 ms on a 2-core machine.
 * Linux with glibc only (`libc.so.6`); elsewhere `libc()` is undefined and callers use
 * node:fs and `Bun.connect`.
 */

/** The part of Bun's native FFI object that `bun:ffi` wraps: types as numbers, pointers as numbers. */
interface NativeFfi {
  dlopen(library: string, symbols: Record<string, { args: number[]; returns: number }>): { symbols: Record<string, (...args: number[]) => number> };
  ptr(view: ArrayBufferView, byteOffset?: number): number;
}

/** bun:ffi's FFIType numbers for the signatures used (checked against bun:ffi by the tests). */
export const FFI_TYPES = { i32: 5, u32: 6, ptr: 12, i64_fast: 15, u64_fast: 16 } as const;

export interface Libc {
  statx(dirfd: number, path: number, flags: number, mask: number, buffer: number): number;
  socket(domain: number, type: number, protocol: number): number;
  connect(fd: number, address: number, length: number): number;
  setsockopt(fd: number, level: number, name: number, value: number, length: number): number;
  send(fd: number, buffer: number, length: number, flags: number): number;
  recv(fd: number, buffer: number, length: number, flags: number): number;
  close(fd: number): number;
  localtime_r(time: number, tm: number): number;
  /** The calling thread's errno, right after a call that failed. */
  errno(): number;
  ptr(view: ArrayBufferView, byteOffset?: number): number;
}

/** errno numbers as Linux has them on x86-64 and arm64, by the names node:fs gives them. */
export const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  11: "EAGAIN",
  13: "EACCES",
  20: "ENOTDIR",
  22: "EINVAL",
  32: "EPIPE",
  36: "ENAMETOOLONG",
  38: "ENOSYS",
  40: "ELOOP",
  88: "ENOTSOCK",
  104: "ECONNRESET",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
};

let loaded: Libc | null | undefined;

/** libc's calls, or undefined where they cannot be had (not Linux, not glibc, no FFI). */
export function libc(): Libc | undefined {
  if (loaded === undefined) loaded = load() ?? null;
  return loaded ?? undefined;
}

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

function load(): Libc | undefined {
  if (process.platform !== "linux") return undefined;
  try {
    const ffi = nativeFfi();
    const { i32, u32, ptr, i64_fast, u64_fast } = FFI_TYPES;
    const { symbols } = ffi.dlopen("libc.so.6", {
      statx: { args: [i32, ptr, i32, u32, ptr], returns: i32 },
      socket: { args: [i32, i32, i32], returns: i32 },
      connect: { args: [i32, ptr, u32], returns: i32 },
      setsockopt: { args: [i32, i32, i32, ptr, u32], returns: i32 },
      send: { args: [i32, ptr, u64_fast, i32], returns: i64_fast },
      recv: { args: [i32, ptr, u64_fast, i32], returns: i64_fast },
      close: { args: [i32], returns: i32 },
      localtime_r: { args: [ptr, ptr], returns: ptr },
      __errno_location: { args: [], returns: ptr },
    });
    const errnoAt = symbols.__errno_location!;
    // errno is an int at the address __errno_location gives, the same for the thread's life.
    const read = (Bun as unknown as { FFI?: { read?: { i32?: (at: number) => number } } }).FFI?.read?.i32 ??
      (require("bun:ffi") as typeof import("bun:ffi")).read.i32;
    return {
      statx: symbols.statx!,
      socket: symbols.socket!,
      connect: symbols.connect!,
      setsockopt: symbols.setsockopt!,
      send: symbols.send!,
      recv: symbols.recv!,
      close: symbols.close!,
      localtime_r: symbols.localtime_r!,
      errno: () => read(errnoAt()),
      ptr: (view, byteOffset) => ffi.ptr(view, byteOffset),
    };
  } catch {
    return undefined;
  }
}

/**
 * How far local time is ahead of UTC at `ms` (epoch milliseconds), in milliseconds, as the
 * C library reads the time zone (TZ, else /etc/localtime). `Date`'s local getters ask ICU
 * instead, whose first use costs a Bun process about 10 ms (it loads the time zone data),
 * which a server's first log line and a client's first event would pay. Undefined where libc
 * cannot be called: then `Date` it is.
 */
export function localOffsetMs(ms: number): number | undefined {
  const calls = libc();
  if (!calls) return undefined;
  const time = new BigInt64Array([BigInt(Math.floor(ms / 1000))]);
  // struct tm on 64-bit Linux (glibc and musl): nine ints, then long tm_gmtoff at byte 40.
  const tm = new BigInt64Array(8);
  if (calls.localtime_r(calls.ptr(time), calls.ptr(tm)) === 0) return undefined;
  return Number(tm[5]) * 1000;
}
