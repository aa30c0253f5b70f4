import { UnitGraph, type Clock, type GraphLimits, type GraphRules } from "../graph/index.ts";
import type { Recovery } from "../protocol/index.ts";
import { EventLog } from "./events.ts";
import { currentHeader, OperationLog, UnusableJournal, type JournalContents } from "./journal.ts";
import { findJournal, journalPathOf, setAside, setAsidePathOf, writeJournal, type JournalWriter } from "./journal-file.ts";
import { JournaledGraph } from "./journaled-graph.ts";
import type { LockTable } from "./locks.ts";
import { StartWaiters } from "./waiters.ts";

/** What a server serves from: its graph, the starts waiting on it, its event log, and its journal. */
export interface ServerState {
  graph: UnitGraph;
  waiters: StartWaiters;
  events: EventLog;
  /** Where changes are journaled; undefined for a server without a journal (`up`, tests) or one that could not keep it. */
  journal: JournalWriter | undefined;
  /** What was recovered from an earlier server's journal, if anything. */
  recovered: Recovery | undefined;
}

export interface StateOptions {
  socketPath: string;
  clock: Clock;
  limits: GraphLimits & { waiting: number };
  rules: GraphRules;
  /** Where starts that ask for a lock take it (`run --lock`); locks are not journaled: they end with their connections. */
  locks: LockTable;
  /** Keep a journal beside the socket, and recover from the one an earlier server left. */
  journal: boolean;
  /** Set an earlier server's journal aside instead of recovering from it (`serve --fresh`). */
  fresh: boolean;
  /** Called with each graph made, before anything is replayed into it: what follows the graph subscribes here. */
  onGraph?: (graph: UnitGraph) => void;
  /** The W3C traceparent of a unit's span, for the starts that wait on the graph. */
  traceparentOf?: (unit: string) => string;
  warn(message: string): void;
  info(message: string): void;
}

/**
 * Builds the server's state: empty, or, when a journal an earlier server left on this path
 * can be trusted, with every operation it recorded made again. A journal that cannot be
 * trusted in full (damaged before its last line, of another version, boot or container) is
 * set aside with a warning and the server starts empty; it never runs on half of one.
 */
export async function buildState(options: StateOptions): Promise<ServerState> {
  const { socketPath, clock, limits, rules, warn, info, onGraph, traceparentOf } = options;
  const around = (graph: UnitGraph) => {
    onGraph?.(graph);
    return { graph, waiters: new StartWaiters(graph, limits.waiting, traceparentOf, options.locks), events: new EventLog(graph) };
  };
  if (!options.journal) return { ...around(new UnitGraph({ clock, limits, rules })), journal: undefined, recovered: undefined };

  const path = journalPathOf(socketPath);
  const header = currentHeader(rules, readSmallFile);
  const found = await findJournal(path, header);
  let writer: JournalWriter | undefined;
  const operations = new OperationLog(clock, (record) => writer?.append(record));
  const fresh = () => around(new JournaledGraph({ limits, rules }, operations));

  let state = fresh();
  let kept: JournalContents | undefined;
  let recovered: Recovery | undefined;
  if (found.kind === "foreign") {
    warn(`not keeping a journal: ${path} is not the server's own (${found.why}); remove it to keep one`);
    return { ...state, journal: undefined, recovered: undefined };
  }
  if (found.kind === "unusable") {
    const moved = await setAside(path);
    warn(`the journal ${path} cannot be trusted (${found.why}); ${moved ? `set aside as ${setAsidePathOf(path)}, ` : ""}starting empty`);
  } else if (found.kind === "recoverable" && options.fresh) {
    const moved = await setAside(path);
    info(`starting empty (--fresh)${moved ? `; the earlier journal is kept as ${setAsidePathOf(path)}` : ""}`);
  } else if (found.kind === "recoverable") {
    const began = performance.now();
    try {
      for (const record of found.contents.records) operations.replay(state.graph, record);
      kept = found.contents;
      // A journal with nothing in it recovers nothing worth saying.
      if (kept.records.length > 0) recovered = {
        from: path,
        operations: kept.records.length,
        units: state.graph.size,
        dropped_torn_line: kept.torn,
        took_ms: Math.round((performance.now() - began) * 10) / 10,
      };
    } catch (error) {
      if (!(error instanceof UnusableJournal)) throw error;
      const moved = await setAside(path);
      warn(`the journal ${path} does not replay (${error.message}); ${moved ? `set aside as ${setAsidePathOf(path)}, ` : ""}starting empty`);
      state = fresh();
    }
  }

  try {
    writer = await writeJournal(path, header, kept?.records ?? [], warn);
  } catch (error) {
    warn(`not keeping a journal: cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  if (recovered) {
    const torn = recovered.dropped_torn_line ? "; its last line was cut short and is dropped" : "";
    info(`recovered ${recovered.units} units (${recovered.operations} operations) from ${path} in ${recovered.took_ms} ms${torn}`);
  }
  return { ...state, journal: writer, recovered };
}

/** A small file's text, or undefined when it cannot be read (no /proc, a hidden pid 1). */
function readSmallFile(path: string): string | undefined {
  try {
    return (require("node:fs") as typeof import("node:fs")).readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
