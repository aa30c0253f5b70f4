/**
 * Lock hand-off (issue 17): the time from one holder's command ending to the next holder's
 * command starting, for `unitsync lock apt -- CMD` and, in the same run, for `flock(1)` on a
 * file, rounds of both kinds shuffled together. In each round a first holder waits on a
 * FIFO until every other client is queued (seen in `unitsync locks`, or as blocked FLOCK
 * entries in /proc/locks), so the hand-offs are measured with the waiters asleep, not
 * while they are still starting up. Each command stamps `date +%s%N` as it starts and as
 * it ends (bash's $EPOCHREALTIME); both kinds pay the same bash start. For unitsync the server's
 * `lock_released` event (millisecond times) splits a hand-off in two: the holder's end to
 * the server learning of the release (the holder's `unitsync lock` sees its command exit
 * and closes its connection), and the server learning of it to the next command's start
 * (the server answers the next waiter in the same step; it reads the line and spawns).
 * A last section takes process starts out: raw connections from this process, a holder
 * whose socket is closed and a waiter whose `acquired` line is awaited, against the same
 * server; that is the server's own hand-off plus one socket round trip.
 * Usage: `bun run bench/lock-handoff.ts [binary]`.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RawConnection, httpRequest } from "../test/raw-http.ts";
import { UnitGraph } from "../src/graph/index.ts";
import { LockTable } from "../src/server/locks.ts";
import { StartWaiters, type StartSink } from "../src/server/waiters.ts";
import type { LockEntry, LockEventEntry, LoggedEvent } from "../src/protocol/index.ts";
import { clientEnv, expectSuccess, killAll, markdownTable, median, ms, onAnyExit, percentile, progress, serve, shuffle, spawn, stopServer, within, type Child } from "./lib.ts";

const ROOT = join(import.meta.dir, "..");
const BINARY = resolve(process.argv[2] ?? join(ROOT, "dist", "unitsync"));
const ROUNDS = 20;
/** Clients per round: one first holder and this many minus one waiters, so this many minus one hand-offs. */
const CLIENTS = 8;
const TARGET_MS = 2;

type Kind = "unitsync" | "flock";

// bash's own clock, in microseconds: no `date` process on either side of a hand-off.
const STAMP_START = `echo "s $EPOCHREALTIME" >> log`;
const STAMP_END = `echo "e $EPOCHREALTIME" >> log`;

const scratch = mkdtempSync(join(tmpdir(), "unitsync-lock-bench-"));
onAnyExit(() => {
  killAll("SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

const socketPath = join(scratch, "unitsync.sock");
const env = { ...clientEnv(socketPath), PATH: process.env.PATH ?? "" };
const server = await serve(BINARY, socketPath, env);

function holderCommand(kind: Kind, body: string, dir: string): string[] {
  return kind === "unitsync" ? [BINARY, "lock", "apt", "--timeout", "0", "--", "bash", "-c", body] : ["flock", join(dir, "lockfile"), "bash", "-c", body];
}

/** Waiters queued on the lock; -1 when nobody holds it either (unitsync only). */
async function queuedWaiters(kind: Kind, dir: string, lock = "apt"): Promise<number> {
  if (kind === "unitsync") {
    const child = spawn([BINARY, "locks", "-o", "json"], env);
    await expectSuccess(child, "unitsync locks");
    const locks: LockEntry[] = JSON.parse(await child.stdout.done);
    return locks.find((l) => l.lock === lock)?.waiters.length ?? -1;
  }
  const inode = statSync(join(dir, "lockfile")).ino;
  const table = await Bun.file("/proc/locks").text();
  return table.split("\n").filter((line) => line.includes("-> FLOCK") && line.includes(`:${inode} `)).length;
}

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  await within(
    (async () => {
      while (!(await condition())) await Bun.sleep(5);
    })(),
    30_000,
    what,
  );
}

/** One round: the gaps (ms) between each holder's end and the next holder's start, and for unitsync the release times. */
async function round(kind: Kind, index: number): Promise<{ gaps: number[]; ends: number[]; starts: number[] }> {
  const dir = join(scratch, `${kind}-${index}`);
  await Bun.spawn(["mkdir", "-p", dir]).exited;
  await Bun.spawn(["mkfifo", join(dir, "gate")]).exited;
  await Bun.write(join(dir, "lockfile"), "");
  const spawnIn = (cmd: string[]) => spawn(["sh", "-c", `cd "$1" && shift && exec "$@"`, "sh", dir, ...cmd], env);
  const clients: Child[] = [spawnIn(holderCommand(kind, `echo held; read x < gate; ${STAMP_END}`, dir))];
  await within(clients[0]!.stdout.until("held"), 30_000, "the first holder");
  for (let i = 1; i < CLIENTS; i++) {
    clients.push(spawnIn(holderCommand(kind, `${STAMP_START}; ${STAMP_END}`, dir)));
    // One at a time, so that the queue's order is known and every waiter is asleep.
    await waitFor(async () => (await queuedWaiters(kind, dir)) === i, `${i} queued ${kind} waiters`);
  }
  await Bun.write(join(dir, "gate"), "go\n");
  for (const client of clients) await expectSuccess(client, `${kind} holder`);
  const stamps = (await Bun.file(join(dir, "log")).text()).trim().split("\n").map((line) => line.split(" "));
  const ends: number[] = [];
  const starts: number[] = [];
  for (const [what, seconds] of stamps) (what === "e" ? ends : starts).push(Number(seconds) * 1000);
  const gaps = starts.map((start, i) => start - ends[i]!);
  return { gaps, ends, starts };
}

const plan = shuffle([...Array(ROUNDS).fill("unitsync"), ...Array(ROUNDS).fill("flock")] as Kind[]);
const gaps: Record<Kind, number[]> = { unitsync: [], flock: [] };
const learned: number[] = [];
const toNext: number[] = [];
let seenEvents = 0;
for (const [index, kind] of plan.entries()) {
  progress(`round ${index + 1}/${plan.length}: ${kind}`);
  const result = await round(kind, index);
  gaps[kind].push(...result.gaps);
  if (kind !== "unitsync") continue;
  const events = spawn([BINARY, "events", "-o", "json", "--after", String(seenEvents)], env);
  await expectSuccess(events, "unitsync events");
  const entries: LoggedEvent[] = JSON.parse(await events.stdout.done);
  seenEvents = entries.at(-1)?.seq ?? seenEvents;
  const releases = entries.filter((e): e is LockEventEntry => "lock" in e && e.type === "lock_released").map((e) => Date.parse(e.time));
  // Release i hands over to holder i + 1; the last release hands over to nobody.
  for (let i = 0; i + 1 < releases.length && i < result.starts.length; i++) {
    learned.push(releases[i]! - result.ends[i]!);
    toNext.push(result.starts[i]! - releases[i]!);
  }
}
/**
 * Close a raw holder's connection -> the first raw waiter has its `acquired` line, in ms,
 * with `behind` more waiters queued after it: a hand-off must not cost more in a long queue.
 */
async function rawHandOffs(trials: number, behind: number): Promise<number[]> {
  const request = httpRequest("POST", "/v1/locks/raw", JSON.stringify({ timeout_ms: 0 }));
  const open = async () => {
    const connection = await RawConnection.open(socketPath, request);
    await connection.waitFor((c) => c.lines.length === 1, "a raw client's first line");
    return connection;
  };
  const queue = [await open()];
  for (let i = 0; i <= behind; i++) queue.push(await open());
  const took: number[] = [];
  for (let i = 0; i < trials; i++) {
    const [holder, next] = [queue.shift()!, queue[0]!];
    const closed = performance.now();
    holder.close();
    await next.waitFor((c) => c.lines.length === 2, "the next raw waiter's acquired line");
    took.push(performance.now() - closed);
    queue.push(await open());
  }
  for (const connection of queue) connection.close();
  await waitFor(async () => (await queuedWaiters("unitsync", scratch, "raw")) === -1, "the raw lock to be free");
  return took;
}
progress("raw hand-offs");
const raw = await rawHandOffs(200, 0);
const rawLong = await rawHandOffs(200, 1_000);

await stopServer(server);

/**
 * In process, no sockets: a chain u1 <- u2 <- ... <- uN where every start also asks for one
 * lock, all N starts waiting at once; completing u1 then lets each unit start (holding the
 * lock), end, and give the lock on, down the chain. The same with no lock is the baseline.
 * Per unit, the cost must not grow with N.
 */
function chainCost(n: number, lock: boolean): number {
  let now = 0;
  const clock = () => (now += 0.001);
  const graph = new UnitGraph({ clock });
  const locks = new LockTable(clock);
  const waiters = new StartWaiters(graph, n + 1, undefined, locks);
  const held = new Map<string, () => void>();
  const started = new Set<string>();
  const began = performance.now();
  for (let i = 2; i <= n; i++) graph.declareDependencies(`u${i}`, [`u${i - 1}`], "success");
  for (let i = 1; i <= n; i++) {
    const unit = `u${i}`;
    const sink: StartSink = { gone: false, end() {}, write: (line) => void (line.type === "started" && started.add(unit)) };
    held.set(unit, waiters.begin(unit, sink, { timeoutMs: 0, progressMs: 0, lock: lock ? "chain" : undefined }));
  }
  for (let i = 1; i <= n; i++) {
    waiters.settle();
    const unit = `u${i}`;
    if (!started.has(unit)) throw new Error(`${unit} did not start`);
    graph.complete(unit);
    held.get(unit)!();
  }
  return (performance.now() - began) / n;
}
progress("chains in process");
const chains: Record<string, number[]> = {};
for (const trial of shuffle([0, 1, 2, 3, 4].flatMap(() => ["10000 lock", "20000 lock", "10000 none", "20000 none"]))) {
  const [n, kind] = trial.split(" ");
  (chains[trial] ??= []).push(chainCost(Number(n), kind === "lock") * 1000);
}
const perUnit = (key: string) => median(chains[key]!);

const row = (label: string, samples: number[], note = "") => [label, String(samples.length), ms(median(samples)), ms(percentile(samples, 95)), note];
const ratio = median(gaps.unitsync) / median(gaps.flock);
const markdown = [
  `Lock hand-off, ${ROUNDS} rounds of each kind shuffled together, ${CLIENTS - 1} hand-offs per round (${new Date().toISOString()})`,
  "",
  markdownTable(
    ["hand-off", "n", "median", "p95", ""],
    [
      row("`unitsync lock`: holder's command ends -> next holder's command starts", gaps.unitsync, `${ratio.toFixed(2)}x flock`),
      row("baseline `flock(1)` on a file, the same commands", gaps.flock),
      row("unitsync, of which: command ends -> server learns of the release (ms clock)", learned),
      row("unitsync, of which: server learns -> next command starts (ms clock)", toNext),
      row(`no process starts: holder's connection closed -> next waiter has \`acquired\` (target ${TARGET_MS} ms)`, raw, median(raw) <= TARGET_MS ? "met" : "**missed**"),
      row("the same with 1,000 more waiters queued behind", rawLong, `${(median(rawLong) / median(raw)).toFixed(2)}x`),
    ],
  ),
  "",
  "In process: a chain of N units, every start also taking one lock, each unit released by the one before (5 trials each, shuffled; microseconds per unit, median)",
  "",
  markdownTable(
    ["chain", "10,000 units", "20,000 units", "20k / 10k per unit"],
    [
      ["each start takes the lock", `${perUnit("10000 lock").toFixed(1)} us`, `${perUnit("20000 lock").toFixed(1)} us`, `${(perUnit("20000 lock") / perUnit("10000 lock")).toFixed(2)}x`],
      ["baseline: no lock", `${perUnit("10000 none").toFixed(1)} us`, `${perUnit("20000 none").toFixed(1)} us`, `${(perUnit("20000 none") / perUnit("10000 none")).toFixed(2)}x`],
    ],
  ),
].join("\n");
console.log(markdown);
