// `unitsync up` on a real terminal (tmux): the live view of the units stays below the
// scripts' lines while they run, never garbles them, and is gone when the summary comes.
import { describe, expect } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY, tempDir, testNeeding, waitUntil } from "../helpers.ts";

const EXAMPLES = join(import.meta.dir, "../../examples");

describe("up on a terminal", () => {
  testNeeding("tmux")("shows a live view while the scripts run, then the summary, with every script line intact", async () => {
    using work = tempDir();
    const server = `unitsync-test-${process.pid}`;
    const tmux = (...args: string[]) => Bun.spawnSync(["tmux", "-L", server, ...args], { stdout: "pipe", stderr: "pipe" });
    const screen = () => tmux("capture-pane", "-p", "-J", "-t", "up", "-S", "-200").stdout.toString();
    const env = `UNITSYNC_EXAMPLE_DIR=${work.path} PATH=${join(BINARY, "..")}:$PATH TERM=xterm-256color`;
    const command = `env -u NO_COLOR ${env} ${BINARY} up ${join(EXAMPLES, "workspace")}; echo "up exited $?"; sleep 60`;
    expect(tmux("new-session", "-d", "-s", "up", "-x", "160", "-y", "60", command).exitCode).toBe(0);
    try {
      let during = "";
      await waitUntil(() => /^[…▶] \S+ +(waiting|running) /m.test((during = screen())), 10_000, "the live view");
      await waitUntil(() => screen().includes("up exited"), 15_000, "up to finish");
      const after = screen().split("\n");
      const scriptLines = after.filter((line) => line.includes(" │ "));
      expect({
        liveViewWhileRunning: during.includes("── unitsync up ·"),
        liveViewAfter: after.some((line) => line.startsWith("── unitsync up")),
        everyScriptLineIntact: scriptLines.every((line) => /^(\d\d-[a-z-]+\.sh|up) +│ \S/.test(line)),
        agentRan: after.some((line) => /^50-ai-agent\.sh +│ agent sees /.test(line)),
        summary: after.some((line) => line.startsWith("SCRIPT ")),
        exit: after.find((line) => line.startsWith("up exited")),
      }).toEqual({
        liveViewWhileRunning: true,
        liveViewAfter: false,
        everyScriptLineIntact: true,
        agentRan: true,
        summary: true,
        exit: "up exited 0",
      });
    } finally {
      tmux("kill-server");
    }
  });

  testNeeding("tmux")("shows who holds a lock and who waits for it", async () => {
    using work = tempDir();
    const gate = join(work.path, "gate");
    await Bun.$`mkfifo ${gate}`;
    const scripts = {
      // The waiter asks only once the holder has the lock (unit "held" says so), so it waits.
      "10-holder.sh": `unitsync lock apt -- sh -c 'unitsync run held -- true && read -r go < "${gate}"'`,
      "20-waiter.sh": `unitsync run behind --after held -- unitsync lock apt -- true`,
    };
    for (const [name, body] of Object.entries(scripts)) {
      writeFileSync(join(work.path, name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(join(work.path, name), 0o755);
    }
    const server = `unitsync-test-locks-${process.pid}`;
    const tmux = (...args: string[]) => Bun.spawnSync(["tmux", "-L", server, ...args], { stdout: "pipe", stderr: "pipe" });
    const screen = () => tmux("capture-pane", "-p", "-J", "-t", "up", "-S", "-200").stdout.toString();
    const command = `env -u NO_COLOR PATH=${join(BINARY, "..")}:$PATH TERM=xterm-256color ${BINARY} up ${work.path}/10-holder.sh ${work.path}/20-waiter.sh; echo "up exited $?"; sleep 60`;
    expect(tmux("new-session", "-d", "-s", "up", "-x", "160", "-y", "40", command).exitCode).toBe(0);
    try {
      // The waiter may still be on its way in line: wait for the line that names both.
      const line = /^⚿ lock apt +held by 10-holder\.sh \(pid \d+\) for \S+; waiting: 20-waiter\.sh \(pid \d+\)$/m;
      await waitUntil(() => line.test(screen()), 15_000, "the lock's line in the live view");
      await Bun.$`echo go > ${gate}`;
      await waitUntil(() => screen().includes("up exited"), 15_000, "up to finish");
      expect(screen().split("\n").find((l) => l.startsWith("up exited"))).toBe("up exited 0");
    } finally {
      tmux("kill-server");
    }
  });
});
