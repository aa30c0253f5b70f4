import { buildTimeline, type Requirement, type TimelineEntry, type UnitGraph, type UnitStatus, type UnitTimes } from "../graph/index.ts";
import type { GraphResponse, TimelineResponse, TimelineUnit, UnitListEntry, UnitStatusResponse, UnitTimestamps } from "../protocol/index.ts";

// The graph as the protocol shows it: one mapping, used by the routes and by in-process readers.

/** Coder's `required_status` column for each requirement. */
const REQUIRED_STATUS: Record<Requirement, string> = {
  success: "completed",
  completion: "completed|failed",
  started: "started",
};

/** `GET /v1/units`: every registered unit, sorted by name. */
export function unitList(graph: UnitGraph): UnitListEntry[] {
  return graph.units().map((u) => ({
    unit_name: u.name,
    status: u.status,
    is_ready: u.ready,
    reason: u.reason,
    ...(u.target && { target: true }),
    ...(u.first && { first: true }),
    ...timestamps(u.times, u.status),
  }));
}

/** `GET /v1/units/{unit}`: one unit, registered or not, with its dependencies' state. */
export function unitStatusOf(graph: UnitGraph, unit: string): UnitStatusResponse {
  const status = graph.statusOf(unit);
  const times = graph.timesOf(unit);
  return {
    unit_name: unit,
    status: status ?? "not registered",
    is_ready: graph.isReady(unit),
    reason: graph.reasonOf(unit),
    ...(graph.isTarget(unit) && { target: true }),
    ...(graph.isFirst(unit) && { first: true }),
    ...(times && status && timestamps(times, status)),
    dependencies: graph.dependenciesOf(unit).map((d) => ({
      depends_on: d.dependsOn,
      required_status: REQUIRED_STATUS[d.requires],
      current_status: d.currentStatus ?? "not registered",
      is_satisfied: d.satisfied,
      requires: d.requires,
      declared_at: iso(d.declaredAt),
      ...(d.implicit && { implicit: d.implicit }),
    })),
  };
}

/** `GET /v1/graph`: every unit, names only depended on included, and every edge. */
export function graphOf(graph: UnitGraph): GraphResponse {
  const registered = graph.units();
  const known = new Set(registered.map((u) => u.name));
  const body: GraphResponse = {
    units: registered.map((u) => ({
      unit_name: u.name,
      status: u.status,
      reason: u.reason,
      ...(u.target && { target: true }),
      ...(u.first && { first: true }),
    })),
    edges: [],
  };
  for (const unit of registered) {
    for (const dependency of graph.dependenciesOf(unit.name)) {
      body.edges.push({
        unit_name: unit.name,
        depends_on: dependency.dependsOn,
        requires: dependency.requires,
        is_satisfied: dependency.satisfied,
        ...(dependency.implicit && { implicit: dependency.implicit }),
      });
      if (known.has(dependency.dependsOn)) continue;
      known.add(dependency.dependsOn);
      body.units.push({ unit_name: dependency.dependsOn, status: "not registered" });
    }
  }
  return body;
}

/** `GET /v1/timeline`: offsets from the first registration, at time `now`, with the critical path. */
export function timelineOf(graph: UnitGraph, now: number, stopped?: ReadonlyMap<string, number>): TimelineResponse {
  const built = buildTimeline(graph.units(), now, stopped);
  const offset = (at: number) => round(at - built.origin);
  const toWire = (entry: TimelineEntry): TimelineUnit => ({
    unit_name: entry.unit,
    status: entry.status,
    reason: entry.reason,
    ...(entry.target && { target: true }),
    registered_ms: offset(entry.registered),
    start_requested_ms: entry.wait && offset(entry.wait.from),
    started_ms: entry.run && offset(entry.run.from),
    ended_ms: entry.ended === undefined ? undefined : offset(entry.ended),
    wait_ms: entry.wait && round(entry.wait.to - entry.wait.from),
    run_ms: entry.run && round(entry.run.to - entry.run.from),
    in_progress: entry.inProgress,
    stopped_ms: entry.stopped === undefined ? undefined : offset(entry.stopped),
  });
  return {
    origin: iso(built.origin),
    now_ms: offset(built.now),
    end_ms: offset(built.end),
    units: built.entries.map(toWire),
    critical_path: built.criticalPath.map(toWire),
    // Only when there is something to say, so an answer without them reads as before.
    ...(built.missing.length > 0 && { missing: built.missing.map((m) => ({ unit_name: m.unit, needed_by: m.neededBy })) }),
    ...(built.blockedBy !== undefined && { critical_path_blocked_by: built.blockedBy }),
  };
}

/** RFC 3339 with milliseconds, as every time on the wire is. */
export function iso(at: number): string {
  return new Date(at).toISOString();
}

/** Milliseconds to the microsecond: enough for any picture, short on the wire. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The wire form of a unit's times; the end is `completed_at` or `failed_at` as its status says. */
function timestamps(times: UnitTimes, status: UnitStatus): UnitTimestamps {
  const wire: UnitTimestamps = { registered_at: iso(times.registered) };
  if (times.startRequested !== undefined) wire.start_requested_at = iso(times.startRequested);
  if (times.started !== undefined) wire.started_at = iso(times.started);
  if (times.ended !== undefined) wire[status === "failed" ? "failed_at" : "completed_at"] = iso(times.ended);
  return wire;
}
