/**
 * The option that keeps JavaScriptCore's optimizing compilers (DFG, and FTL above it) out of
 * the server. They pay off in a process that runs much hot JavaScript; the server runs a few
 * small handlers around Bun's own HTTP code, and without them it holds 8 to 10 MiB less with
 * 10,000 units (about 5 MiB of it the compilers' own code, never paged in). The throughput
 * bench saw want/complete no slower and `ping` 9% slower (README, "Performance").
 */
export const NO_OPTIMIZING_JIT = { BUN_JSC_useDFGJIT: "0" } as const;

/**
 * Starts this process again, same pid, arguments and environment, with NO_OPTIMIZING_JIT set:
 * JavaScriptCore reads its options from the environment once, before any JavaScript runs, so
 * `serve` can only set them this way (one more runtime start: spawn to "serving on" took 83
 * ms instead of 72). Does nothing when the option is set already (by the first start, or by
 * whoever runs the server, who may set it to 1 to keep the compilers), and outside a
 * compiled binary, whose arguments and path this would not know how to repeat.
 */
export function restartWithoutOptimizingJit(): void {
  if (process.env.BUN_JSC_useDFGJIT !== undefined || !Bun.main.startsWith("/$bunfs/") || !process.execve) return;
  try {
    // argv[1] is the bundle inside the binary; the binary's own name (argv0) may be a personality, `coder`.
    process.execve(process.execPath, [process.argv0, ...process.argv.slice(2)], { ...process.env, ...NO_OPTIMIZING_JIT });
  } catch {
    // The binary cannot be run again (replaced, or on a file system mounted noexec since): serve as it is.
  }
}
