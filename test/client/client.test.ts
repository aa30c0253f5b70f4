import { expect, test } from "bun:test";
import { UnitsyncClient } from "../../src/client/index.ts";
import { UnitsyncError } from "../../src/protocol/index.ts";

test.each(["", "/tmp/a\0b.sock"])("socket path %j is refused before any connection", (socketPath) => {
  let thrown: unknown;
  try {
    new UnitsyncClient(socketPath);
  } catch (error) {
    thrown = error;
  }
  expect(thrown instanceof UnitsyncError ? { code: thrown.code, message: thrown.message } : thrown).toEqual({
    code: "usage",
    message: `invalid socket path ${JSON.stringify(socketPath)}: give the path of a socket file`,
  });
});
