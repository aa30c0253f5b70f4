import type { LockClaimant, LockEventEntry, LoggedEvent } from "../protocol/index.ts";
import { formatDuration } from "./duration.ts";
import type { Palette } from "./color.ts";
import { clockTime, formatList } from "./text.ts";

/**
 * Longest sentence for one event, in characters: `serve` logs every event as a line, and
 * one long list of dependencies or one long reason must not make a line of any length.
 */
export const MAX_EVENT_SENTENCE = 2_000;

/** What happened, as a sentence: `unit "claude" start requested, waiting for [git-clone]`. */
export function describeEvent(event: LoggedEvent, palette?: Palette): string {
  if (isLockEvent(event)) return describeLockEvent(event);
  const unit = JSON.stringify(event.unit);
  // Only the free-length end of a sentence is cut, so colour codes are never split.
  const ending = (start: string, end: string) => clip(end, MAX_EVENT_SENTENCE - start.length);
  switch (event.type) {
    case "registered":
      return event.target ? `unit ${unit} registered as a target` : `unit ${unit} registered`;
    case "members_added": {
      const start = `target ${unit} gathers `;
      return start + ending(start, formatList(event.members));
    }
    case "first_declared": {
      const running = event.running === 0 ? "" : `; ${count(event.running, "unit")} already running left alone`;
      return `unit ${unit} runs first: ${count(event.held, "unit")} ${event.held === 1 ? "waits" : "wait"} for it${running}`;
    }
    case "dependencies_removed": {
      const start = `unit ${unit} no longer waits for `;
      const because = `: ${JSON.stringify(event.because)} needs it before everything else`;
      return start + ending(start, `${formatList(event.dependencies)}${because}`);
    }
    case "dependencies_added": {
      const requires = event.requires === "success" ? "" : ` (requires ${event.requires})`;
      const start = `unit ${unit} depends on `;
      return start + ending(start, `${formatList(event.dependencies)}${requires}`);
    }
    case "start_requested": {
      if (event.unsatisfied.length === 0) return `unit ${unit} start requested`;
      const start = `unit ${unit} start requested, waiting for `;
      const waiting = palette?.yellow("waiting") ?? "waiting";
      return `unit ${unit} start requested, ${waiting} for ${ending(start, formatList(event.unsatisfied))}`;
    }
    case "status_changed": {
      if (event.to === "pending") return `unit ${unit} reset to pending for a retry`;
      const word = palette ? STATUS_STYLE[event.to](palette)(event.to) : event.to;
      return `unit ${unit} ${word}${event.reason ? ending(`unit ${unit} ${event.to}`, `: ${event.reason}`) : ""}`;
    }
  }
}

/** Lock events name their lock; a unit's event never has one. */
export function isLockEvent(event: LoggedEvent): event is LockEventEntry {
  return "lock" in event;
}

/** `lock "apt" acquired by 10-apt.sh (pid 42) after waiting 1.20s`. */
function describeLockEvent(event: LockEventEntry): string {
  const lock = `lock ${JSON.stringify(event.lock)}`;
  const who = describeClaimant(event);
  switch (event.type) {
    case "lock_waiting":
      return `${lock} wanted by ${who}, waiting: held by ${describeClaimant(event.held_by)}`;
    case "lock_acquired":
      return `${lock} acquired by ${who}${event.waited_ms >= 1 ? ` after waiting ${formatDuration(event.waited_ms)}` : ""}`;
    case "lock_released":
      return `${lock} released by ${who} after ${formatDuration(event.held_ms)}`;
    case "lock_left":
      return `${lock} no longer wanted by ${who}, after waiting ${formatDuration(event.waited_ms)}`;
  }
}

/** Who holds or wants a lock, from what its client said: `unit "db" (10-db.sh, pid 42)`, `10-apt.sh (pid 7)`. */
export function describeClaimant({ unit, script, pid }: LockClaimant): string {
  const where = [script, pid === undefined ? undefined : `pid ${pid}`].filter((part) => part !== undefined).join(", ");
  if (unit !== undefined) return `unit ${JSON.stringify(unit)}${where ? ` (${where})` : ""}`;
  if (script !== undefined) return pid === undefined ? script : `${script} (pid ${pid})`;
  return pid === undefined ? "a client" : `pid ${pid}`;
}

/** `3 units`, `1 unit`. */
function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/** `text` cut to `room` characters (at least one), the cut marked with `…`, never inside a surrogate pair. */
function clip(text: string, room: number): string {
  if (text.length <= room) return text;
  let end = Math.max(1, room - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

const STATUS_STYLE = {
  started: (p: Palette) => p.blue,
  completed: (p: Palette) => p.green,
  failed: (p: Palette) => p.red,
} as const;

/** One line of `unitsync events`: local time to the millisecond, then the sentence. */
export function formatEventLine(event: LoggedEvent, palette: Palette): string {
  return `${palette.dim(clockTime(new Date(event.time)))}  ${describeEvent(event, palette)}`;
}
