import { GraphError } from "./errors.ts";

/** Longest unit name accepted, in UTF-8 bytes: names end up in logs, tables and file names. */
export const MAX_NAME_BYTES = 255;

// C0 controls, DEL and C1 controls: they would corrupt one-line logs and tables.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** Quotes a unit name the way every message shows it: `"git-clone"`, with every control character escaped. */
export function quote(name: string): string {
  // JSON escapes C0 controls but leaves DEL and C1 raw; escape those too so a message stays one clean line.
  return JSON.stringify(name).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The one refusal for a name that is not text, wherever it arrives: JSON, a URL or argv. */
export function notUtf8(role = "unit name"): string {
  return `${role} is not valid UTF-8 text`;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Throws `invalid_name` unless `name` is a usable unit name; `role` says which argument it was. */
export function validateUnitName(name: unknown, role = "unit name"): asserts name is string {
  if (typeof name !== "string" || name.length === 0) {
    throw new GraphError("invalid_name", `${role} is required`);
  }
  // A lone surrogate cannot be written in UTF-8, so no URL could name it and no waiter on it could be released.
  if (!name.isWellFormed()) throw new GraphError("invalid_name", notUtf8(role));
  // URLs read these as path steps (/v1/units/../start is /v1/start), so no request could name them.
  if (name === "." || name === "..") {
    throw new GraphError("invalid_name", `${role} ${quote(name)} is not allowed: "." and ".." read as path steps in a URL`);
  }
  if (CONTROL_CHARACTER.test(name)) {
    throw new GraphError("invalid_name", `${role} ${quote(name)} contains a control character`);
  }
  const bytes = utf8Length(name);
  if (bytes > MAX_NAME_BYTES) {
    throw new GraphError(
      "invalid_name",
      `${role} is ${bytes} bytes long; the limit is ${MAX_NAME_BYTES}`,
    );
  }
}

/**
 * Edit distance counting insertions, deletions, substitutions and swaps of neighbours
 * (so `gti` is one edit from `git`), or `limit + 1` as soon as it must exceed `limit`.
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowBest = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, beforePrevious[j - 2]! + 1);
      }
      current.push(best);
      rowBest = Math.min(rowBest, best);
    }
    if (rowBest > limit) return limit + 1;
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The candidate most likely meant by a mistyped `name`: the closest by edit distance,
 * ignoring case, within a third of the name's length (so none for a two-letter name
 * but a different case); ties go to
 * the first in sort order. `undefined` when nothing is that close.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  return closerMatch(name, noMatch(name), candidates).best;
}

/** A closest-name search so far: the best candidate and its distance (past the limit: none yet). */
export interface NameMatch {
  best: string | undefined;
  distance: number;
}

/** The search before any candidate: nothing within `name`'s limit. */
export function noMatch(name: string): NameMatch {
  return { best: undefined, distance: Math.floor(name.length / 3) + 1 };
}

/**
 * `match` with more `candidates` considered, by the rules of `closestName`; lets a caller
 * look at only the names that are new since its last search.
 */
export function closerMatch(name: string, match: NameMatch, candidates: Iterable<string>): NameMatch {
  const wanted = name.toLowerCase();
  let { best, distance: bestDistance } = match;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    // Only as close as the best so far can matter, so stop counting edits past it.
    const distance = editDistance(wanted, candidate.toLowerCase(), bestDistance);
    if (distance < bestDistance || (distance === bestDistance && best !== undefined && candidate < best)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return { best, distance: bestDistance };
}
