import { isDirectory, isSymbolicLink, LstatError, lstatPath, type PathStat } from "./lstat.ts";

/** Linux gives up on a path after 40 symbolic links; so do we. */
const MAX_LINKS = 40;

/** A directory reached by `resolveSafely`: its real path and what lstat said of it. */
export interface SafeDirectory {
  path: string;
  stat: PathStat;
}

/**
 * Why a path is not safe. `untrusted`: someone else could change where it leads. `unusable`:
 * it leads nowhere a socket could be (a file on the way, a loop). `missing` names a component
 * that does not exist (yet), in a directory already proved safe.
 */
export class UnsafePath extends Error {
  constructor(
    message: string,
    readonly untrusted: boolean,
    readonly missing?: string,
  ) {
    super(message);
  }
}

/**
 * Resolves `directory` one component at a time, from `/`, never following a link it has not
 * checked, and proves that nobody but the `trusted` users can change where it leads: every
 * directory on the way belongs to a trusted user and is writable by nobody else, except a
 * sticky one (like /tmp) whose next entry belongs to a trusted user, and so cannot be
 * renamed or replaced by anyone else. A symbolic link is followed on the same terms.
 * Synchronous, and loads `node:fs` only when called: clients call it before every connection.
 */
export function resolveSafely(directory: string, trusted: (uid: number) => boolean): SafeDirectory {
  const lstat = (path: string): PathStat => {
    try {
      return lstatPath(path);
    } catch (error) {
      if (!(error instanceof LstatError)) throw error;
      if (error.code === "ENOENT") throw new UnsafePath(`${path} does not exist`, false, path);
      throw new UnsafePath(`${path} cannot be examined (${error.code})`, false);
    }
  };
  const root = lstat("/");
  let current: SafeDirectory = { path: "/", stat: root };
  let pending = steps(directory.startsWith("/") ? directory : `${process.cwd()}/${directory}`);
  let links = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === "..") {
      // Every ancestor of `current` was checked on the way down.
      const parent = current.path.slice(0, current.path.lastIndexOf("/")) || "/";
      current = { path: parent, stat: lstat(parent) };
      continue;
    }
    const path = current.path === "/" ? `/${name}` : `${current.path}/${name}`;
    const stat = lstat(path);
    const replaceable = replaceableBy(current, path, stat, trusted);
    if (replaceable) throw new UnsafePath(replaceable, true);
    if (isSymbolicLink(stat)) {
      if (++links > MAX_LINKS) throw new UnsafePath(`${directory} has too many symbolic links`, false);
      // Rare enough (a /tmp that links elsewhere) to load node:fs for.
      const { readlinkSync } = require("node:fs") as typeof import("node:fs");
      const target = readlinkSync(path);
      if (target.startsWith("/")) current = { path: "/", stat: root };
      pending = [...steps(target), ...pending];
      continue;
    }
    if (!isDirectory(stat)) throw new UnsafePath(`${path} is not a directory`, false);
    current = { path, stat };
  }
  return current;
}

/** The path's components, without empty ones and `.`. */
function steps(path: string): string[] {
  return path.split("/").filter((step) => step !== "" && step !== ".");
}

/** Why someone untrusted could rename or replace `entry` inside `parent`, or "" when nobody can. */
function replaceableBy(parent: SafeDirectory, entry: string, entryStat: PathStat, trusted: (uid: number) => boolean): string {
  const { path, stat } = parent;
  if (!trusted(stat.uid)) return `${path} belongs to uid ${stat.uid}, who could replace ${entry}`;
  if ((stat.mode & 0o022) === 0) return "";
  const sticky = (stat.mode & 0o1000) !== 0;
  if (sticky && trusted(entryStat.uid)) return "";
  if (sticky) return `${entry} belongs to uid ${entryStat.uid}, in the shared directory ${path}`;
  return `${path} is writable by others (mode ${modeText(stat)}), who could replace ${entry}`;
}

/** The octal permission bits, as `ls -l` users read them: `700`, `1777`. */
export function modeText(stat: PathStat): string {
  return (stat.mode & 0o7777).toString(8);
}

/** A world-writable sticky directory of root's, like /tmp: anyone may add files, nobody may replace another's. */
export function isSharedSticky(stat: PathStat): boolean {
  return stat.uid === 0 && (stat.mode & 0o1002) === 0o1002;
}
