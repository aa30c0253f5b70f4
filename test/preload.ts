// Runs once before the test files: every end-to-end test drives the real compiled binary,
// so build it here, once, from the current sources.
import { setDefaultTimeout } from "bun:test";
import { BINARY } from "./helpers.ts";

// Bun 1.4.5 applies a preload's default timeout to the first test file only (the others get
// 5 s); `npm test` passes --timeout 30000 for all of them, this covers a bare `bun test FILE`.
setDefaultTimeout(30_000);

const build = Bun.spawnSync([process.execPath, "run", "build.ts", BINARY], {
  cwd: `${import.meta.dir}/..`,
  stdout: "inherit",
  stderr: "inherit",
});
if (build.exitCode !== 0) throw new Error("building the unitsync binary for the tests failed");
