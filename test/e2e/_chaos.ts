// A start-up that loses its server: a random graph of units, each run by a bash script in
// one of the forms people write (three calls, or `run`), plus scripts that only wait; the
// server is SIGKILLed at a random moment and started again on the same path after a random
// pause. What every script and unit should end with is worked out from the graph alone, as
// if nothing had crashed. Shared by test/e2e/restart-chaos.test.ts (small) and
// bench/restart-chaos.ts (the size).
import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, testEnv } from "../helpers.ts";

/** A small, seeded random number generator (mulberry32): every run of a seed plans the same start-up. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface UnitPlan {
  name: string;
  dependencies: string[];
  /** Three calls (want, start, complete or fail) or one `run`. */
  form: "calls" | "run";
  /** Its own work fails (exit 7). */
  fails: boolean;
  workMs: number;
}

export interface ChaosPlan {
  units: UnitPlan[];
  /** Scripts that only wait for one unit, through a unit of their own. */
  watchers: { name: string; on: string }[];
}

export function planChaos(seed: number, units: number, watchers: number): ChaosPlan {
  const next = random(seed);
  const pick = (n: number) => Math.floor(next() * n);
  const plans: UnitPlan[] = [];
  for (let i = 0; i < units; i++) {
    const dependencies = new Set<string>();
    const count = i === 0 ? 0 : pick(4);
    for (let d = 0; d < count; d++) dependencies.add(`u${pick(i)}`);
    plans.push({ name: `u${i}`, dependencies: [...dependencies], form: next() < 0.5 ? "calls" : "run", fails: next() < 0.03, workMs: pick(60) });
  }
  return { units: plans, watchers: Array.from({ length: watchers }, (_, i) => ({ name: `w${i}`, on: `u${pick(units)}` })) };
}

/** What each unit ends as, and each script's exit code, when the server never goes away. */
export function expectedOutcome(plan: ChaosPlan): { status: Map<string, "completed" | "failed">; exit: Map<string, number> } {
  const status = new Map<string, "completed" | "failed">();
  const exit = new Map<string, number>();
  for (const unit of plan.units) {
    const blocked = unit.dependencies.some((d) => status.get(d) === "failed");
    status.set(unit.name, blocked || unit.fails ? "failed" : "completed");
    exit.set(unit.name, blocked ? 3 : unit.fails ? 7 : 0);
  }
  for (const watcher of plan.watchers) {
    const failed = status.get(watcher.on) === "failed";
    status.set(watcher.name, failed ? "failed" : "completed");
    exit.set(watcher.name, failed ? 3 : 0);
  }
  return { status, exit };
}

function scriptOf(unit: UnitPlan): string {
  const work = `sleep ${(unit.workMs / 1000).toFixed(3)}`;
  if (unit.form === "run") {
    const after = unit.dependencies.map((d) => `--after ${d} `).join("");
    return `unitsync run ${unit.name} ${after}--timeout 60s -- sh -c '${work}; exit ${unit.fails ? 7 : 0}'`;
  }
  return [
    unit.dependencies.length > 0 ? `unitsync want ${unit.name} ${unit.dependencies.join(" ")} >/dev/null` : "",
    `unitsync start ${unit.name} --timeout 60s >/dev/null`,
    work,
    unit.fails ? `unitsync fail ${unit.name} --reason boom >/dev/null; exit 7` : `unitsync complete ${unit.name} >/dev/null`,
  ].join("\n");
}

export interface ChaosResult {
  /** Scripts whose exit code is not the one a run without the crash gives, with what they printed. */
  wrongExits: { script: string; expected: number; got: number; stderr: string }[];
  /** Units whose final status is not the expected one. */
  wrongStatuses: { unit: string; expected: string; got: string | undefined }[];
  /** Units the event log shows completed (or started) more than once. */
  repeated: string[];
  /** The longest any script took, ms: none may wait past its time-out. */
  longestScriptMs: number;
  /** When the server was killed and how long it stayed away, ms from the first script's spawn. */
  killedAtMs: number;
  downMs: number;
  /** From the restarted server's spawn until it answered a ping, ms: how long the gap really was beyond downMs. */
  restartMs: number;
}

/** Scripts spawned between two yields to the event loop. */
const SPAWN_BATCH = 10;

/** Runs one start-up of `plan`, killing its server once at `killAtMs` and starting it again `downMs` later. */
export async function runChaos(plan: ChaosPlan, killAtMs: number, downMs: number): Promise<ChaosResult> {
  const dir = mkdtempSync(join(tmpdir(), "unitsync-chaos-"));
  const binDir = join(dir, ".bin");
  await Bun.write(join(binDir, ".keep"), "");
  symlinkSync(BINARY, join(binDir, "unitsync"));
  const socketPath = join(dir, "unitsync.sock");
  // Commands that do not wait ride over the gap too when asked to wait for a server.
  const env = testEnv({ UNITSYNC_SOCKET_PATH: socketPath, UNITSYNC_WAIT_FOR_SERVER: "30s", PATH: `${binDir}:${process.env.PATH ?? ""}` });
  // The server's log is read as it comes (a pipe nobody reads would stop a busy server) and
  // its tail is kept for the error if a server does not come up.
  let log = "";
  const startServer = async () => {
    // In a session of its own, as an entry point should start it: where the kernel shares CPU
    // between sessions (autogroup), a restarted server then is not one process among the
    // hundreds of start-ups the scripts' session runs (it took 20 to 25 s to come up there, 3 to 9 s here).
    const server = Bun.spawn([BINARY, "serve", "--socket-path", socketPath], { env, stdout: "ignore", stderr: "pipe", detached: true });
    void (async () => {
      for await (const chunk of server.stderr) log = (log + new TextDecoder().decode(chunk)).slice(-4_000);
    })();
    const ping = Bun.spawn([BINARY, "ping", "--wait-for-server", "60s"], { env, stdout: "ignore", stderr: "pipe" });
    if ((await ping.exited) !== 0) {
      const said = (await new Response(ping.stderr).text()).trim();
      const proc = (file: string) => {
        try {
          return readFileSync(`/proc/${server.pid}/${file}`, "utf8").replace(/\0/g, " ").trim();
        } catch {
          return "?";
        }
      };
      const state = `${proc("status").match(/State:.*/)?.[0] ?? "gone"}, in ${proc("wchan")}, running ${proc("cmdline")}`;
      throw new Error(`the chaos server did not come up (exit ${server.exitCode ?? "none yet"}; ${state}); ping: ${said}; its log ends: ${log.slice(-600)}`);
    }
    return server;
  };
  const expected = expectedOutcome(plan);
  const scripts = [
    ...plan.units.map((unit) => ({ name: unit.name, text: scriptOf(unit) })),
    ...plan.watchers.map((w) => ({
      name: w.name,
      text: `unitsync want ${w.name} ${w.on} >/dev/null\nunitsync start ${w.name} --timeout 60s >/dev/null\nunitsync complete ${w.name} >/dev/null`,
    })),
  ];
  let server: Subprocess<"ignore", "ignore", "pipe"> | undefined;
  try {
    server = await startServer();
    const began = performance.now();
    // The crash is timed from the first spawn and lands when it is due, even while scripts
    // are still being spawned (300 of them take seconds on two cores).
    let restartMs = 0;
    const crash = (async () => {
      await Bun.sleep(killAtMs);
      server!.kill("SIGKILL");
      await server!.exited;
      const at = performance.now() - began;
      await Bun.sleep(downMs);
      const spawned = performance.now();
      server = await startServer();
      restartMs = performance.now() - spawned;
      return at;
    })();
    const running: Promise<{ name: string; code: number; stderr: string; ms: number }>[] = [];
    for (const [i, { name, text }] of scripts.entries()) {
      // Spawning blocks the event loop: a yield every few lets the crash's timer fire on time.
      if (i > 0 && i % SPAWN_BATCH === 0) await Bun.sleep(0);
      const child = Bun.spawn(["bash", "-c", `set -eu\n${text}`], { cwd: dir, env, stdout: "ignore", stderr: "pipe" });
      running.push(Promise.all([child.exited, new Response(child.stderr).text()]).then(([code, stderr]) => ({ name, code, stderr, ms: performance.now() - began })));
    }
    const killedAtMs = await crash;
    const ended = await Promise.all(running);

    const list = JSON.parse(await new Response(Bun.spawn([BINARY, "list", "-o", "json"], { env }).stdout).text()) as { unit_name: string; status: string }[];
    const events = JSON.parse(await new Response(Bun.spawn([BINARY, "events", "-o", "json"], { env }).stdout).text()) as { unit: string; to?: string }[];
    const got = new Map(list.map((u) => [u.unit_name, u.status]));
    const counts = new Map<string, number>();
    for (const event of events) {
      if (event.to === "completed" || event.to === "started") counts.set(`${event.unit} ${event.to}`, (counts.get(`${event.unit} ${event.to}`) ?? 0) + 1);
    }
    return {
      wrongExits: ended
        .filter(({ name, code }) => code !== expected.exit.get(name))
        .map(({ name, code, stderr }) => ({ script: name, expected: expected.exit.get(name)!, got: code, stderr: stderr.trim().split("\n").slice(-3).join(" | ") })),
      wrongStatuses: [...expected.status]
        .filter(([unit, status]) => got.get(unit) !== status)
        .map(([unit, status]) => ({ unit, expected: status, got: got.get(unit) })),
      repeated: [...counts].filter(([, n]) => n > 1).map(([what]) => what),
      longestScriptMs: Math.max(...ended.map((e) => e.ms)),
      killedAtMs,
      downMs,
      restartMs,
    };
  } finally {
    server?.kill("SIGTERM");
    await server?.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}
