/** Writes results to stdout; resolves once the bytes are out, so an exit right after loses nothing. */
export async function print(text: string): Promise<void> {
  await Bun.write(Bun.stdout, text.endsWith("\n") ? text : `${text}\n`);
}

/** Writes one diagnostic line to stderr. */
export async function printError(text: string): Promise<void> {
  await Bun.write(Bun.stderr, text.endsWith("\n") ? text : `${text}\n`);
}
