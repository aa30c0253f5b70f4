/**
 * Issue 18, the journal's cost: what journaling adds to each request that changes the graph
 * (a `want`, a start that does not wait, a `complete`), next to the same requests on a server
 * started with --no-journal, in the same run, requests of both interleaved; and how long a
 * server takes to recover a 10,000-unit start-up after SIGKILL.
 * Usage: `bun run bench/journal.ts [binary]` (after `bun run build.ts`).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { clientEnv, killAll, markdownTable, ms, onAnyExit, serve, spawn, summarize, times, type Child } from "./lib.ts";

const BINARY = resolve(process.argv[2] ?? join(import.meta.dir, "..", "dist", "unitsync"));
const ROUNDS = 2_000;
const RECOVERY_UNITS = 10_000;
const RECOVERY_TRIALS = 5;

const dir = mkdtempSync(join(tmpdir(), "unitsync-bench-journal-"));
onAnyExit(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

async function post(socketPath: string, path: string, body: unknown = {}): Promise<void> {
  const response = await fetch(`http://unitsync/v1${path}`, { method: "POST", unix: socketPath, body: JSON.stringify(body) } as RequestInit);
  await response.text();
  if (!response.ok) throw new Error(`POST ${path}: HTTP ${response.status}`);
}

/** One round on one server: want, start (no dependencies left: answered at once), complete; each timed. */
async function round(socketPath: string, n: number): Promise<number[]> {
  const timed = async (request: () => Promise<void>) => {
    const began = performance.now();
    await request();
    return performance.now() - began;
  };
  return [
    await timed(() => post(socketPath, `/units/u${n}/dependencies`, { depends_on: [`u${n - 1}`] })),
    await timed(() => post(socketPath, `/units/u${n - 1}/start`)),
    await timed(() => post(socketPath, `/units/u${n - 1}/complete`)),
  ];
}

async function requestCost(): Promise<Record<"journal" | "memory", number[]>> {
  const servers: Record<"journal" | "memory", { socketPath: string; child: Child }> = {
    journal: { socketPath: join(dir, "journal.sock"), child: undefined as never },
    memory: { socketPath: join(dir, "memory.sock"), child: undefined as never },
  };
  servers.journal.child = await serve(BINARY, servers.journal.socketPath, clientEnv(servers.journal.socketPath));
  servers.memory.child = spawn([BINARY, "serve", "--no-journal", "--socket-path", servers.memory.socketPath], clientEnv(servers.memory.socketPath));
  await servers.memory.child.stderr.until("serving on");
  const samples = { journal: [] as number[], memory: [] as number[] };
  for (let n = 1; n <= ROUNDS; n++) {
    // Alternate which goes first, so neither always meets a warmer machine.
    const order = n % 2 === 0 ? (["journal", "memory"] as const) : (["memory", "journal"] as const);
    for (const kind of order) samples[kind].push(...(await round(servers[kind].socketPath, n)));
  }
  return samples;
}

/** Builds a 10,000-unit chain with half its units completed, kills the server, and times the restart. */
async function recovery(): Promise<{ recoverMs: number[]; answeringMs: number[]; operations: number }> {
  const socketPath = join(dir, "recover.sock");
  const env = clientEnv(socketPath);
  let server = await serve(BINARY, socketPath, env);
  for (let n = 1; n < RECOVERY_UNITS; n++) await post(socketPath, `/units/u${n}/dependencies`, { depends_on: [`u${n - 1}`] });
  for (let n = 0; n < RECOVERY_UNITS / 2; n++) {
    await post(socketPath, `/units/u${n}/start`);
    await post(socketPath, `/units/u${n}/complete`);
  }
  const recoverMs: number[] = [];
  const answeringMs: number[] = [];
  let operations = 0;
  for (let trial = 0; trial < RECOVERY_TRIALS; trial++) {
    server.proc.kill("SIGKILL");
    await server.proc.exited;
    const began = performance.now();
    server = spawn([BINARY, "serve", "--socket-path", socketPath], env);
    await server.stderr.until("serving on", 60_000);
    answeringMs.push(performance.now() - began);
    const match = /recovered (\d+) units \((\d+) operations\) from .* in ([\d.]+) ms/.exec(server.stderr.text);
    if (!match || Number(match[1]) !== RECOVERY_UNITS) throw new Error(`unexpected recovery: ${server.stderr.text}`);
    operations = Number(match[2]);
    recoverMs.push(Number(match[3]));
  }
  server.proc.kill("SIGTERM");
  await server.proc.exited;
  return { recoverMs, answeringMs, operations };
}

const cost = await requestCost();
const recovered = await recovery();
const journal = summarize(cost.journal);
const memory = summarize(cost.memory);
const p = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.ceil((q / 100) * values.length) - 1]!;
console.log(
  [
    `## The journal's cost (${ROUNDS} rounds of want + start + complete on each server, interleaved)`,
    ``,
    markdownTable(
      ["server", "requests", "median", "p99", "median vs --no-journal"],
      [
        ["journaled (default)", String(journal.n), ms(journal.median), ms(p(cost.journal, 99)), times(journal.median / memory.median)],
        ["--no-journal (baseline)", String(memory.n), ms(memory.median), ms(p(cost.memory, 99)), "-"],
      ],
    ),
    ``,
    `## Recovery of ${RECOVERY_UNITS.toLocaleString("en")} units (${recovered.operations.toLocaleString("en")} operations), SIGKILL then restart, ${RECOVERY_TRIALS} trials`,
    ``,
    markdownTable(
      ["figure", "median", "max"],
      [
        ["replaying the journal (as the server reports it)", ms(summarize(recovered.recoverMs).median), ms(summarize(recovered.recoverMs).max)],
        ["restart spawned -> serving again", ms(summarize(recovered.answeringMs).median), ms(summarize(recovered.answeringMs).max)],
      ],
    ),
  ].join("\n"),
);
killAll();
rmSync(dir, { recursive: true, force: true });
