import { expect, test } from "bun:test";
import { chmodSync, chownSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chooseSocketPath, defaultSocketPath } from "../../src/protocol/index.ts";
import { tempDir } from "../helpers.ts";

const uid = process.getuid!();
const tmp = `/tmp/unitsync-${uid}/unitsync.sock`;

test("the default is in XDG_RUNTIME_DIR only when it is an absolute, private directory of the user's", () => {
  using dir = tempDir();
  const make = (name: string, mode: number) => {
    const path = join(dir.path, name);
    mkdirSync(path);
    chmodSync(path, mode);
    return path;
  };
  const own = make("own", 0o700);
  const cases: Record<string, string | undefined> = {
    unset: undefined,
    own,
    trailingSlash: `${own}/`,
    loose: make("loose", 0o777),
    missing: join(dir.path, "missing"),
    relative: "run/user",
  };
  if (uid === 0) {
    cases.theirs = make("theirs", 0o700);
    chownSync(cases.theirs, 65534, 65534);
  }
  const chosen = Object.fromEntries(Object.entries(cases).map(([name, value]) => [name, defaultSocketPath({ XDG_RUNTIME_DIR: value })]));
  expect(chosen).toEqual({
    unset: { path: tmp, source: "tmp", why: "XDG_RUNTIME_DIR is not set" },
    own: { path: `${own}/unitsync/unitsync.sock`, source: "runtime-dir", why: "XDG_RUNTIME_DIR" },
    trailingSlash: { path: `${own}/unitsync/unitsync.sock`, source: "runtime-dir", why: "XDG_RUNTIME_DIR" },
    loose: { path: tmp, source: "tmp", why: `XDG_RUNTIME_DIR ${dir.path}/loose is writable by others` },
    missing: { path: tmp, source: "tmp", why: `XDG_RUNTIME_DIR ${dir.path}/missing is not a directory` },
    relative: { path: tmp, source: "tmp", why: "XDG_RUNTIME_DIR run/user is not an absolute path" },
    ...(uid === 0 && {
      theirs: { path: tmp, source: "tmp", why: `XDG_RUNTIME_DIR ${dir.path}/theirs belongs to uid 65534, not to you` },
    }),
  });
});

test("--socket-path wins over UNITSYNC_SOCKET_PATH, which wins over CODER_AGENT_SOCKET_PATH, which wins over the default", () => {
  const both = { UNITSYNC_SOCKET_PATH: "/b.sock", CODER_AGENT_SOCKET_PATH: "/c.sock" };
  expect([
    chooseSocketPath("/a.sock", both),
    chooseSocketPath(undefined, both),
    chooseSocketPath(undefined, { UNITSYNC_SOCKET_PATH: "", CODER_AGENT_SOCKET_PATH: "/c.sock" }),
    chooseSocketPath(undefined, { CODER_AGENT_SOCKET_PATH: "" }).source,
  ]).toEqual([
    { path: "/a.sock", source: "flag" },
    { path: "/b.sock", source: "env", why: "UNITSYNC_SOCKET_PATH" },
    { path: "/c.sock", source: "env", why: "CODER_AGENT_SOCKET_PATH" },
    "tmp",
  ]);
});
