/**
 * Whether file descriptor `fd` (0 stdin, 1 stdout, 2 stderr) is a terminal. Asking
 * `process.stdout.isTTY` builds Node's stream for it, which loads node:tty, node:net and
 * node:stream: 10 to 17 ms, more than a whole client command; Node's own `isatty` check,
 * which Bun exposes as `tty_wrap`, costs 0.1 ms. Falls back to the stream where it is missing.
 */
export function isTerminal(fd: 0 | 1 | 2): boolean {
  try {
    const wrap = (process as unknown as { binding(name: string): { isTTY(fd: number): boolean } }).binding("tty_wrap");
    return wrap.isTTY(fd) === true;
  } catch {
    const stream = fd === 0 ? process.stdin : fd === 1 ? process.stdout : process.stderr;
    return stream.isTTY === true;
  }
}
