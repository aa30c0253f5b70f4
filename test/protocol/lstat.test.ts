import { expect, test } from "bun:test";
import { lstatSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FFIType } from "bun:ffi";
import { LstatError, lstatPath } from "../../src/protocol/index.ts";
import { FFI_TYPES } from "../../src/protocol/libc.ts";
import { tempDir } from "../helpers.ts";

test("lstatPath reads what node:fs reads: owner, group and mode with the file type, never through a link", () => {
  using dir = tempDir();
  mkdirSync(join(dir.path, "sub"), { mode: 0o751 });
  writeFileSync(join(dir.path, "file"), "x", { mode: 0o640 });
  symlinkSync("/", join(dir.path, "link"));
  const listener = Bun.listen({ unix: join(dir.path, "s.sock"), socket: { data() {} } });
  try {
    const paths = ["/", "/tmp", dir.path, join(dir.path, "sub"), join(dir.path, "file"), join(dir.path, "link"), join(dir.path, "s.sock")];
    const expected = paths.map((path) => {
      const { uid, gid, mode } = lstatSync(path);
      return { uid, gid, mode };
    });
    expect(paths.map(lstatPath)).toEqual(expected);
  } finally {
    listener.stop(true);
  }
});

test.each([
  ["a missing path", (dir: string) => join(dir, "missing"), "ENOENT"],
  ["a path through a file", (dir: string) => join(dir, "file", "x"), "ENOTDIR"],
  ["a path with a NUL in it", (dir: string) => `${dir}\0/x`, "EINVAL"],
])("%s fails with its errno's name", (_, pathIn, code) => {
  using dir = tempDir();
  writeFileSync(join(dir.path, "file"), "x");
  let thrown: unknown;
  try {
    lstatPath(pathIn(dir.path));
  } catch (error) {
    thrown = error;
  }
  expect(thrown instanceof LstatError && thrown.code).toBe(code);
});

test("the FFI type numbers given to Bun's native FFI are bun:ffi's own", () => {
  expect(FFI_TYPES).toEqual({ i32: FFIType.i32, u32: FFIType.u32, ptr: FFIType.ptr, i64_fast: FFIType.i64_fast, u64_fast: FFIType.u64_fast });
});
