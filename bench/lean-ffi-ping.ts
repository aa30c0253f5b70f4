// The floor for unitsync's own client: what it does on every command, and nothing else. A
// compiled binary that opens libc through Bun's native FFI object (as src/protocol/libc.ts
// does), connects to the socket, sends one GET /v1/ping with blocking calls, reads until the
// server closes, and exits; no trust check of the path, no argument parsing, no modules of
// ours, no output. Exits 1 on anything but a 200.
interface NativeFfi {
  dlopen(library: string, symbols: Record<string, { args: number[]; returns: number }>): { symbols: Record<string, (...args: number[]) => number> };
  ptr(view: ArrayBufferView): number;
}
const ffi = (Bun as unknown as { FFI: NativeFfi }).FFI;
// bun:ffi's type numbers: i32 5, u32 6, ptr 12, i64_fast 15, u64_fast 16.
const { symbols: c } = ffi.dlopen("libc.so.6", {
  socket: { args: [5, 5, 5], returns: 5 },
  connect: { args: [5, 12, 6], returns: 5 },
  send: { args: [5, 12, 16, 5], returns: 15 },
  recv: { args: [5, 12, 16, 5], returns: 15 },
});
const AF_UNIX = 1;
const fd = c.socket!(AF_UNIX, 1 | 0o2000000, 0); // SOCK_STREAM | SOCK_CLOEXEC
const address = new Uint8Array(110);
address[0] = AF_UNIX;
const path = new TextEncoder().encode(process.env.UNITSYNC_SOCKET_PATH ?? "");
address.set(path, 2);
if (fd < 0 || c.connect!(fd, ffi.ptr(address), 2 + path.length + 1) !== 0) process.exit(1);
const request = new TextEncoder().encode("GET /v1/ping HTTP/1.1\r\nHost: unitsync\r\nConnection: close\r\n\r\n");
if (c.send!(fd, ffi.ptr(request), request.length, 0x4000) !== request.length) process.exit(1); // MSG_NOSIGNAL
const buffer = new Uint8Array(64 * 1024);
let answer = "";
const decoder = new TextDecoder("latin1");
for (let got = c.recv!(fd, ffi.ptr(buffer), buffer.length, 0); got > 0; got = c.recv!(fd, ffi.ptr(buffer), buffer.length, 0)) {
  answer += decoder.decode(buffer.subarray(0, got));
}
process.exit(answer.startsWith("HTTP/1.1 200") ? 0 : 1);
