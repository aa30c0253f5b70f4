import { isSharedSticky, lstatPath, modeText, resolveSafely, UnitsyncError, UnsafePath, type PathStat } from "../protocol/index.ts";

/**
 * Refuses, before any connection, a socket that someone other than the client's user or
 * root could have put there or could still replace: another user who makes
 * `/tmp/unitsync-<uid>` first would otherwise receive every call, and could release a `start`
 * whose dependency never completed. The socket's directory must be safe all the way down
 * (see `resolveSafely`), belong to the client's user or root and be writable by nobody else.
 * A socket directly in a shared sticky directory (like Coder's /tmp/coder-agent.sock) must
 * itself belong to the user or root: the sticky bit keeps others from replacing it. When the
 * caller named the path (`explicit`), a directory of another user's whose group the client is
 * in is trusted too: that is how `serve --group` shares a server. A path that does not exist
 * yet, or that leads nowhere a socket could be, passes: there is nothing to talk to, and
 * the connection says so.
 */
export function checkSocketTrust(socketPath: string, explicit: boolean): void {
  const me = process.getuid?.() ?? -1;
  const absolute = socketPath.startsWith("/") ? socketPath : `${process.cwd()}/${socketPath}`;
  const directory = absolute.slice(0, absolute.lastIndexOf("/")) || "/";
  const owner = groupOwner(directory, explicit, me);
  const trusted = (uid: number) => uid === me || uid === 0 || uid === owner;
  let resolved;
  try {
    resolved = resolveSafely(directory, trusted);
  } catch (error) {
    if (!(error instanceof UnsafePath)) throw error;
    // Nothing there yet, or nowhere a socket could be: connecting says which, in its own words.
    if (!error.untrusted) return;
    throw untrusted(socketPath, error.message);
  }
  const { path, stat } = resolved;
  if (isSharedSticky(stat)) {
    const socket = (() => {
      try {
        return lstatPath(absolute);
      } catch {
        return undefined; // nothing there yet, or nothing we can read: connecting will say which
      }
    })();
    if (socket && socket.uid !== me && socket.uid !== 0) {
      throw untrusted(socketPath, `${absolute} belongs to uid ${socket.uid}, in the shared directory ${path}`);
    }
    return;
  }
  if (!trusted(stat.uid)) throw untrusted(socketPath, `its directory ${path} belongs to uid ${stat.uid}, not to you (uid ${me}) or root`);
  if ((stat.mode & 0o022) !== 0) {
    throw untrusted(socketPath, `its directory ${path} is writable by others (mode ${modeText(stat)})`);
  }
}

/** The owner of a `serve --group` directory the client may use: named by the caller, of a group the client is in. */
function groupOwner(directory: string, explicit: boolean, me: number): number | undefined {
  if (!explicit) return undefined;
  let stat: PathStat;
  try {
    stat = lstatPath(directory);
  } catch {
    return undefined; // the walk will say what is wrong with it
  }
  if (stat.uid === me || stat.uid === 0 || (stat.mode & 0o022) !== 0) return undefined;
  const groups = [process.getgid?.(), ...(process.getgroups?.() ?? [])];
  return groups.includes(stat.gid) ? stat.uid : undefined;
}

function untrusted(socketPath: string, why: string): UnitsyncError {
  return new UnitsyncError(
    "server_unreachable",
    `refusing to talk to ${socketPath}: ${why}, so someone else could be answering; remove what they made, or point --socket-path at a directory of your own`,
  );
}
