import type { Clock, GraphRules, UnitGraph } from "../graph/index.ts";
import { VERSION } from "../protocol/index.ts";

/**
 * The server's journal: every operation that changed the graph, appended to a file in the
 * socket's directory before the request that made it is answered. A server started again
 * on the same path (after SIGKILL, the OOM killer, a bug) replays it and knows what the
 * last one knew: statuses, outcomes, reasons, times and, because replaying the same
 * operations emits the same changes, the event log's numbers.
 *
 * One line per entry, `<crc32 of the JSON, 8 hex digits> <JSON>\n`: a header first, then a
 * record per operation, `{"op":"complete","args":["db"],"t":[1764912345678.125]}`, where `t`
 * holds the clock readings the operation took, so that replaying it gives the same times.
 * A line is whole when it ends in a newline and its checksum matches. A last line that is
 * not whole (a write cut short) is dropped; a bad line before the last means the file is not
 * what we wrote, and none of it is trusted.
 *
 * Only the process's death is survived, not the machine's: lines go to the kernel with one
 * write(2) each and are not fsynced (a sync would cost each request milliseconds). A journal
 * from an earlier boot or an earlier start of the container (another init process) is set
 * aside: the start-up it describes is over.
 */

/** Bumped when the records change meaning; a journal of another format is set aside. */
export const JOURNAL_FORMAT = 1;

/** Who wrote a journal, and for which machine and container; all must match to recover. */
export interface JournalHeader {
  journal: "unitsync";
  format: number;
  version: string;
  rules: GraphRules;
  /** The kernel's boot id: a reboot ends every start-up. */
  boot: string;
  /** When the init process (pid 1) started, in clock ticks since boot: a container restart ends its start-up. */
  init: string;
}

/** One graph operation as the server made it. */
export interface JournalRecord {
  op: JournaledOperation;
  args: unknown[];
  /** The clock readings the operation took, in order. */
  t: number[];
}

/** The graph's operations that change it; everything else only reads. */
export const JOURNALED_OPERATIONS = [
  "register",
  "declareDependencies",
  "requestStart",
  "start",
  "reopen",
  "complete",
  "fail",
  "declareTarget",
  "declareFirst",
] as const;
export type JournaledOperation = (typeof JOURNALED_OPERATIONS)[number];

/** A journal's whole lines, read back. */
export interface JournalContents {
  header: JournalHeader;
  records: JournalRecord[];
  /** A last line that was not whole and was dropped. */
  torn: boolean;
}

/** Why a journal cannot be recovered from; the server sets it aside and starts empty. */
export class UnusableJournal extends Error {}

/** One line of the journal for `value`. */
export function journalLine(value: JournalHeader | JournalRecord): string {
  const json = JSON.stringify(value);
  return `${checksum(json)} ${json}\n`;
}

function checksum(json: string): string {
  return Bun.hash.crc32(json).toString(16).padStart(8, "0");
}

/** The header this server would write: a journal is recovered only when its header says the same. */
export function currentHeader(rules: GraphRules, readFile: (path: string) => string | undefined): JournalHeader {
  return {
    journal: "unitsync",
    format: JOURNAL_FORMAT,
    version: VERSION,
    rules,
    boot: readFile("/proc/sys/kernel/random/boot_id")?.trim() ?? "",
    init: initStart(readFile("/proc/1/stat")),
  };
}

/** Field 22 of /proc/1/stat, counted after the command name (which may hold spaces and parentheses). */
function initStart(stat: string | undefined): string {
  const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields?.[19] ?? "";
}

/**
 * Reads a journal's text: its header, checked against `expected`, and every whole record.
 * Throws `UnusableJournal`, saying why, for anything that is not a journal this server may trust.
 */
export function readJournal(text: string, expected: JournalHeader): JournalContents {
  const lines = text.split("\n");
  // What follows the last newline was cut short ("" when the file ends with one).
  const tail = lines.pop()!;
  let torn = tail !== "";
  const entries: unknown[] = [];
  for (const [index, line] of lines.entries()) {
    const entry = parseLine(line);
    if (entry !== undefined) {
      entries.push(entry);
      continue;
    }
    // Only the last line may be bad: a write cut short, or a byte changed in it.
    if (index === lines.length - 1 && index > 0 && !torn) {
      torn = true;
      break;
    }
    throw new UnusableJournal(index === 0 ? "its first line is not a unitsync journal header" : `line ${index + 1} is damaged`);
  }
  const [header, ...records] = entries;
  if (header === undefined) throw new UnusableJournal("it has no header");
  checkHeader(header, expected);
  for (const [index, record] of records.entries()) {
    if (!isRecord(record)) throw new UnusableJournal(`line ${index + 2} is not an operation`);
  }
  return { header: header as JournalHeader, records: records as JournalRecord[], torn };
}

function parseLine(line: string): unknown {
  const match = /^([0-9a-f]{8}) (.*)$/.exec(line);
  if (!match || checksum(match[2]!) !== match[1]) return undefined;
  try {
    return JSON.parse(match[2]!);
  } catch {
    return undefined;
  }
}

function checkHeader(header: unknown, expected: JournalHeader): void {
  const got = header as Partial<JournalHeader>;
  if (got.journal !== "unitsync" || got.format !== expected.format) throw new UnusableJournal("it is not a unitsync journal of this format");
  if (got.version !== expected.version) throw new UnusableJournal(`it was written by unitsync ${String(got.version)}, not ${expected.version}`);
  if (got.rules !== expected.rules) throw new UnusableJournal(`it was written under ${String(got.rules)}'s rules, not ${expected.rules}'s`);
  if (got.boot !== expected.boot) throw new UnusableJournal("it is from an earlier boot");
  if (got.init !== expected.init) throw new UnusableJournal("it is from an earlier start of this container (pid 1 is another process)");
}

function isRecord(value: unknown): value is JournalRecord {
  const record = value as Partial<JournalRecord>;
  return (
    typeof record === "object" &&
    record !== null &&
    (JOURNALED_OPERATIONS as readonly string[]).includes(record.op as string) &&
    Array.isArray(record.args) &&
    Array.isArray(record.t) &&
    record.t.every((t) => typeof t === "number")
  );
}

/**
 * Stands between the graph and its clock and sees every operation: records each one that
 * changed the graph (with the clock readings it took) for `write`, and replays records with
 * their own readings. Operations called from inside another are part of it, not records.
 */
export class OperationLog {
  private depth = 0;
  private readings: number[] = [];
  private changes = 0;
  private replaying: number[] | undefined;

  constructor(
    private readonly realClock: Clock,
    /** Where each record goes, synchronously, before the operation's caller goes on. */
    private readonly write: (record: JournalRecord) => void,
  ) {}

  /** The graph's clock: real time, noted while an operation runs; the recorded time while one is replayed. */
  readonly clock: Clock = () => {
    if (this.replaying) {
      const next = this.replaying.shift();
      if (next === undefined) throw new UnusableJournal("an operation took more clock readings than it recorded");
      return next;
    }
    const now = this.realClock();
    if (this.depth > 0) this.readings.push(now);
    return now;
  };

  /** To be called on every change the graph emits: an operation that emitted none changed nothing, and is not recorded. */
  readonly changed = () => void this.changes++;

  /** Runs `operation` and, when it is an outermost one that returned having changed the graph, records it. */
  around<T>(op: JournaledOperation, args: unknown[], operation: () => T): T {
    if (this.depth > 0 || this.replaying) return operation();
    this.depth++;
    this.readings = [];
    const before = this.changes;
    let result: T;
    try {
      result = operation();
    } finally {
      this.depth--;
    }
    if (this.changes !== before) this.write({ op, args, t: this.readings });
    return result;
  }

  /** Makes `record`'s operation on `graph` again, with the times it had; throws `UnusableJournal` if it does not replay. */
  replay(graph: UnitGraph, record: JournalRecord): void {
    this.replaying = [...record.t];
    try {
      (graph[record.op] as (...args: unknown[]) => unknown).apply(graph, record.args);
      if (this.replaying.length > 0) throw new UnusableJournal(`a ${record.op} took fewer clock readings than it recorded`);
    } catch (error) {
      if (error instanceof UnusableJournal) throw error;
      throw new UnusableJournal(`a ${record.op} of ${JSON.stringify(record.args[0])} does not replay: ${(error as Error).message}`);
    } finally {
      this.replaying = undefined;
    }
  }
}
