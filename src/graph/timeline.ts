import type { Requirement, UnitStatus, UnitSummary } from "./graph.ts";

/** A stretch of time, in the graph clock's milliseconds. */
export interface Span {
  from: number;
  to: number;
}

/** One unit on the start-up timeline. */
export interface TimelineEntry {
  unit: string;
  status: UnitStatus;
  reason: string | undefined;
  /** A target waits for its members from its registration; it never runs. */
  target?: true;
  registered: number;
  /** From the start request until the unit started, failed while waiting, or now. */
  wait: Span | undefined;
  /** From the start until the unit ended, or now. */
  run: Span | undefined;
  /** When it completed or failed; a unit may end without ever starting. */
  ended: number | undefined;
  /** Still waiting or running: its last span ends at `now`. */
  inProgress: boolean;
  /** When whoever runs the start-up stopped the script still waiting on or running this unit. */
  stopped: number | undefined;
}

/** A name registered units depend on that nobody registered: the usual cause of a deadlock. */
export interface MissingUnit {
  unit: string;
  /** The registered units that depend on it, in name order. */
  neededBy: string[];
}

export interface Timeline {
  /** The first registration: time zero of the picture. */
  origin: number;
  now: number;
  /** When the last activity ended, or `now` while something is in progress. */
  end: number;
  /** Units that waited, ran or ended, in the order their activity began. */
  entries: TimelineEntry[];
  /**
   * The chain that determined when the last unit finished, first link first: each
   * link started when the one before it satisfied it. Empty when nothing happened yet.
   */
  criticalPath: TimelineEntry[];
  /** Names depended on that nobody registered, in name order. */
  missing: MissingUnit[];
  /** The missing name the critical path's first link waited for in vain, if it did. */
  blockedBy: string | undefined;
}

/**
 * Lays out what every unit did up to `now`, and finds the critical path through it. A unit
 * in `stopped` (name to the moment its script was stopped) that was still waiting or running
 * ends there instead of going on to `now`.
 */
export function buildTimeline(units: readonly UnitSummary[], now: number, stopped: ReadonlyMap<string, number> = new Map()): Timeline {
  const entries = units.map((unit) => entryOf(unit, now, stopped.get(unit.name)));
  const active = entries.filter((entry) => activityEnd(entry) !== undefined);
  active.sort((a, b) => activityStart(a) - activityStart(b) || compareNames(a.unit, b.unit));
  const origin = units.reduce((first, unit) => Math.min(first, unit.times.registered), now);
  const end = active.reduce((latest, entry) => Math.max(latest, activityEnd(entry)!), origin);
  const byName = new Map(entries.map((entry) => [entry.unit, entry]));
  const edges = new Map(units.map((unit) => [unit.name, unit.dependencies]));
  const missing = missingUnits(units);
  const path = criticalPath(active, byName, edges, now);
  // A first link that never started and waits for a name nobody registered waited for that name.
  const first = path[0];
  const blockedBy =
    first && first.run === undefined && first.ended === undefined
      ? missing.find((name) => edges.get(first.unit)!.some((edge) => edge.dependsOn === name.unit))?.unit
      : undefined;
  return { origin, now, end, entries: active, criticalPath: path, missing, blockedBy };
}

function entryOf(unit: UnitSummary, now: number, stoppedAt: number | undefined): TimelineEntry {
  const { registered, started, ended } = unit.times;
  // A target never asks to start: it waits for its members from the moment it exists.
  const startRequested = unit.target ? registered : unit.times.startRequested;
  const waiting = startRequested !== undefined && started === undefined && ended === undefined;
  const running = started !== undefined && ended === undefined;
  const stopped = waiting || running ? stoppedAt : undefined;
  const until = stopped ?? now;
  return {
    unit: unit.name,
    status: unit.status,
    reason: unit.reason,
    ...(unit.target && { target: true as const }),
    registered,
    wait: startRequested === undefined ? undefined : { from: startRequested, to: started ?? ended ?? until },
    run: started === undefined ? undefined : { from: started, to: ended ?? until },
    ended,
    inProgress: (waiting || running) && stopped === undefined,
    stopped,
  };
}

function missingUnits(units: readonly UnitSummary[]): MissingUnit[] {
  const registered = new Set(units.map((unit) => unit.name));
  const neededBy = new Map<string, string[]>();
  for (const unit of [...units].sort((a, b) => compareNames(a.name, b.name))) {
    for (const edge of unit.dependencies) {
      if (registered.has(edge.dependsOn)) continue;
      const needing = neededBy.get(edge.dependsOn) ?? [];
      if (!needing.includes(unit.name)) needing.push(unit.name);
      neededBy.set(edge.dependsOn, needing);
    }
  }
  return [...neededBy].map(([unit, needing]) => ({ unit, neededBy: needing })).sort((a, b) => compareNames(a.unit, b.unit));
}

function activityStart(entry: TimelineEntry): number {
  return entry.wait?.from ?? entry.run?.from ?? entry.ended ?? entry.registered;
}

/** When the unit's last span ends; `undefined` for a unit that only registered. */
function activityEnd(entry: TimelineEntry): number | undefined {
  return entry.run?.to ?? entry.wait?.to ?? entry.ended;
}

/** The moment a unit's dependencies stopped holding it: its start, its failure while waiting, or now. */
function gateOf(entry: TimelineEntry): number {
  return entry.run?.from ?? entry.wait?.to ?? entry.ended!;
}

/**
 * When `dependency` met (or broke) an edge's requirement; a dependency still in progress
 * counts as resolving now, so a chain that is still unfolding leads to what runs.
 */
function resolvedAt(dependency: TimelineEntry, requires: Requirement, now: number): number | undefined {
  const at = requires === "started" ? (dependency.run?.from ?? dependency.ended) : dependency.ended;
  return at ?? (dependency.inProgress ? now : dependency.stopped);
}

/**
 * Walks back from the unit that ended last, each time to the dependency whose resolution
 * came last before the unit's start, like `systemd-analyze critical-chain`. The walk stops
 * at a unit with no such dependency, or one whose own start request came after its
 * dependencies were done: its script, not a dependency, set its start. When several units
 * end last together (all those still in progress end "now"), the longest chain wins; any
 * remaining tie, here or between dependencies, goes to the first name in sort order.
 */
function criticalPath(
  active: readonly TimelineEntry[],
  byName: ReadonlyMap<string, TimelineEntry>,
  edges: ReadonlyMap<string, UnitSummary["dependencies"]>,
  now: number,
): TimelineEntry[] {
  // Each unit's link back depends on that unit alone, so it is found once, and chain
  // lengths are counted once per unit: the whole walk is linear in the edges.
  const links = new Map<TimelineEntry, TimelineEntry | undefined>();
  const linkOf = (entry: TimelineEntry) => {
    if (!links.has(entry)) links.set(entry, linkBack(entry, byName, edges, now));
    return links.get(entry);
  };
  const lengths = new Map<TimelineEntry, number>();
  const lengthOf = (entry: TimelineEntry): number => {
    const path = new Set<TimelineEntry>();
    // `path.has` cannot be true in an acyclic graph; it only guarantees the walk ends.
    for (let at: TimelineEntry | undefined = entry; at && !lengths.has(at) && !path.has(at); at = linkOf(at)) {
      path.add(at);
    }
    for (const at of [...path].reverse()) {
      const next = linkOf(at);
      lengths.set(at, 1 + (next ? (lengths.get(next) ?? 0) : 0));
    }
    return lengths.get(entry)!;
  };

  const end = active.reduce((latest, entry) => Math.max(latest, activityEnd(entry)!), -Infinity);
  let last: TimelineEntry | undefined;
  for (const entry of active) {
    if (activityEnd(entry) !== end) continue;
    const longer = last === undefined || lengthOf(entry) > lengthOf(last);
    if (longer || (lengthOf(entry) === lengthOf(last!) && compareNames(entry.unit, last!.unit) < 0)) last = entry;
  }
  const chain = new Set<TimelineEntry>();
  for (let at = last; at && !chain.has(at); at = linkOf(at)) chain.add(at);
  return [...chain].reverse();
}

/** The dependency that set `entry`'s start, or `undefined` when none did. */
function linkBack(
  entry: TimelineEntry,
  byName: ReadonlyMap<string, TimelineEntry>,
  edges: ReadonlyMap<string, UnitSummary["dependencies"]>,
  now: number,
): TimelineEntry | undefined {
  // A unit that never started while a dependency nobody registered held it: that name, not
  // whatever else resolved meanwhile, is what it waited for.
  const neverStarted = entry.run === undefined && entry.ended === undefined;
  if (neverStarted && (edges.get(entry.unit) ?? []).some((edge) => !byName.has(edge.dependsOn))) {
    return undefined;
  }
  const gate = gateOf(entry);
  let next: TimelineEntry | undefined;
  let nextAt = -Infinity;
  for (const edge of edges.get(entry.unit) ?? []) {
    const dependency = byName.get(edge.dependsOn);
    const at = dependency && resolvedAt(dependency, edge.requires, now);
    if (at === undefined || at > gate) continue;
    if (at > nextAt || (at === nextAt && compareNames(dependency!.unit, next!.unit) < 0)) {
      next = dependency;
      nextAt = at;
    }
  }
  return entry.wait && nextAt < entry.wait.from ? undefined : next;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
