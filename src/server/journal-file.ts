import { journalLine, readJournal, UnusableJournal, type JournalContents, type JournalHeader, type JournalRecord } from "./journal.ts";

/** The journal of the server on `socketPath`: beside its socket and lock file, in the directory only it may write. */
export function journalPathOf(socketPath: string): string {
  return `${socketPath}.journal`;
}

/** What the last server left on the path, read before this one writes anything. */
export type Found =
  | { kind: "none" }
  | { kind: "recoverable"; contents: JournalContents }
  | { kind: "unusable"; why: string }
  /** A file there that is not ours to read or replace (another owner, a link, shared): left alone. */
  | { kind: "foreign"; why: string };

/** Reads the journal at `path` without following a link, trusting only a private regular file of ours. */
export async function findJournal(path: string, expected: JournalHeader): Promise<Found> {
  const { openSync, fstatSync, readFileSync, closeSync, constants } = await import("node:fs");
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { kind: "none" };
    return { kind: "foreign", why: code === "ELOOP" ? "it is a symbolic link" : `it cannot be opened (${code})` };
  }
  try {
    const stat = fstatSync(fd);
    const me = process.getuid?.() ?? -1;
    if (!stat.isFile()) return { kind: "foreign", why: "it is not a regular file" };
    if (stat.uid !== me) return { kind: "foreign", why: `it belongs to uid ${stat.uid}, not to you (uid ${me})` };
    if ((stat.mode & 0o077) !== 0 || stat.nlink !== 1) return { kind: "unusable", why: "others could have written it (its mode or links changed)" };
    try {
      return { kind: "recoverable", contents: readJournal(readFileSync(fd, "utf8"), expected) };
    } catch (error) {
      if (error instanceof UnusableJournal) return { kind: "unusable", why: error.message };
      throw error;
    }
  } finally {
    closeSync(fd);
  }
}

/** Where an unusable (or, with --fresh, an earlier) journal goes: one file, replaced each time. */
export function setAsidePathOf(path: string): string {
  return `${path}.old`;
}

/** Moves the journal at `path` to its set-aside name; false when it cannot be moved (it is not ours). */
export async function setAside(path: string): Promise<boolean> {
  const { renameSync } = await import("node:fs");
  try {
    renameSync(path, setAsidePathOf(path));
    return true;
  } catch {
    return false;
  }
}

/** An open journal that new records are appended to. */
export interface JournalWriter {
  readonly path: string;
  append(record: JournalRecord): void;
  close(): void;
}

/**
 * Starts the journal at `path` afresh, holding `header` and `records` (what was recovered),
 * written to a new private file that then replaces the old one: a torn last line or a
 * set-aside journal never stays under new records. `onFailure` hears, once, that a write
 * failed (a full disk): the server goes on without a journal rather than refuse requests.
 */
export async function writeJournal(
  path: string,
  header: JournalHeader,
  records: readonly JournalRecord[],
  onFailure: (why: string) => void,
): Promise<JournalWriter> {
  const { openSync, writeSync, closeSync, renameSync, unlinkSync, constants } = await import("node:fs");
  const fresh = `${path}.new`;
  try {
    unlinkSync(fresh);
  } catch {
    // Usually not there; if it cannot be removed, the exclusive create below says so.
  }
  const fd = openSync(fresh, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_APPEND, 0o600);
  let open = true;
  const write = (text: string) => {
    if (!open) return;
    try {
      writeSync(fd, text);
    } catch (error) {
      open = false;
      onFailure(`writing ${path} failed (${(error as NodeJS.ErrnoException).code ?? String(error)}); the server goes on without a journal`);
    }
  };
  // Recovered records go out in large writes: a 10,000-unit journal is tens of thousands of lines.
  let batch = journalLine(header);
  for (const record of records) {
    batch += journalLine(record);
    if (batch.length > 1 << 20) {
      write(batch);
      batch = "";
    }
  }
  write(batch);
  renameSync(fresh, path);
  return {
    path,
    append: (record) => write(journalLine(record)),
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
