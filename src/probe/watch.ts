/**
 * Wakes a file probe when the directory that would hold its file changes (inotify through
 * `fs.watch`), so the file is noticed at once instead of at the next periodic check. The
 * watch only says "look again": the check is the probe's own `stat`, so what passes is
 * unchanged, and an event's file name is never used. Nothing is created, opened or read.
 */
export interface ParentWatch {
  /** Whether something changed since the last `rearm()`. */
  changed: boolean;
  /** Called once on the next change; the pause between checks sets it to end early. */
  onChange: (() => void) | undefined;
  /** Moves the watch to the nearest existing parent (deeper once a directory appears) and clears `changed`; call before each check. */
  rearm(): void;
  [Symbol.dispose](): void;
}

type Fs = typeof import("node:fs");

/**
 * Watches the nearest existing directory above `path`. Starts `changed`, since anything
 * before the watch was missed. Any failure (no inotify, too many watches, no permission)
 * ends the watching for good: the periodic check goes on alone, as before.
 */
export async function watchParent(path: string): Promise<ParentWatch> {
  // Loaded here, not at the top: node:fs costs a compiled client milliseconds of start-up,
  // and only a file probe that has to wait needs it.
  const fs: Fs = await import("node:fs");
  const { dirname, resolve } = await import("node:path");
  const target = resolve(path);
  let watcher: import("node:fs").FSWatcher | undefined;
  let watched = "";
  let broken = false;
  const state: ParentWatch = {
    changed: true,
    onChange: undefined,
    rearm() {
      state.changed = false;
      // A directory can appear between finding the nearest one and watching it: look again until it holds still.
      for (let tries = 0; tries < 8 && !broken; tries++) {
        const nearest = nearestDirectory(fs, dirname, target);
        if (nearest === undefined || nearest === watched) return;
        close();
        try {
          watcher = fs.watch(nearest.split("\0")[0]!, { persistent: false }, changed);
          watcher.on("error", stop);
          watched = nearest;
        } catch {
          stop();
        }
      }
    },
    [Symbol.dispose]: stop,
  };
  function changed() {
    state.changed = true;
    const wake = state.onChange;
    state.onChange = undefined;
    wake?.();
  }
  function close() {
    watcher?.close();
    watcher = undefined;
    watched = "";
  }
  function stop() {
    broken = true;
    close();
    changed();
  }
  return state;
}

/**
 * The nearest existing directory above `target`, with its device and inode (a directory
 * removed and made again under the same name needs a new watch), as "path\0dev:ino".
 */
function nearestDirectory(fs: Fs, dirname: (path: string) => string, target: string): string | undefined {
  for (let dir = dirname(target); ; dir = dirname(dir)) {
    try {
      const stat = fs.statSync(dir);
      if (stat.isDirectory()) return `${dir}\0${stat.dev}:${stat.ino}`;
    } catch {
      // Missing, not a directory, or not ours to see: try the one above.
    }
    if (dirname(dir) === dir) return undefined;
  }
}
