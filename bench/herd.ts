/**
 * Section 5, thundering herd: many starts wait for one unit; one `complete` releases them
 * all. Measured with 1,000 raw connections held by this process, and with 100 real
 * `unitsync start` processes against 100 marker loops: a waiting client is 34 MiB of RSS
 * (2.6 MiB of it its own, the rest the shared binary), and 1,000 of them would take
 * seconds of both cores to start for every trial.
 */
import { join } from "node:path";
import { RawConnection, holdStart, httpRequest } from "../test/raw-http.ts";
import {
  MARKER_LOOP,
  WAITING_LINE,
  apiOk,
  clientEnv,
  expectSuccess,
  inBatches,
  markdownTable,
  ms,
  progress,
  serve,
  shuffle,
  spawn,
  stopServer,
  summarize,
  times,
  within,
  type Child,
  type SectionReport,
  type Suite,
} from "./lib.ts";

/** Connections opened at once: well under the server's listen backlog of 512. */
const CONNECT_BATCH = 100;
const CONCURRENCY = 8;
const TARGET_MS = 200;
/** Issue 15: the trigger's own answer may not wait for the fan-out. */
const TRIGGER_MS = 2;

type Herd = "raw1000" | "raw100" | "raw1" | "start100" | "marker100";
type Waiter = "raw" | "start" | "marker";

const HERDS: Record<Herd, { label: string; waiter: Waiter; size: number; trials: number }> = {
  raw1000: { label: "1,000 raw connections in `start`", waiter: "raw", size: 1_000, trials: 10 },
  raw100: { label: "100 raw connections in `start`", waiter: "raw", size: 100, trials: 10 },
  raw1: { label: "1 raw connection in `start` (baseline)", waiter: "raw", size: 1, trials: 10 },
  start100: { label: "100 `unitsync start` processes", waiter: "start", size: 100, trials: 6 },
  marker100: { label: "100 marker loops, 1 s sleeps, released by `touch` (baseline)", waiter: "marker", size: 100, trials: 6 },
};
const BASELINE_OF: Record<Herd, Herd> = { raw1000: "raw1", raw100: "raw1", raw1: "raw1", start100: "start100", marker100: "start100" };

/**
 * From the trigger, ms: when it was answered (a raw `POST .../complete` for the raw herds, the
 * `complete` process's exit otherwise), when the first waiter got its answer, when the last did.
 * Processes are timed from their spawn, raw requests from their first byte sent.
 */
export interface Release {
  trigger: number;
  first: number;
  last: number;
}

/** Herd trials of every kind, shuffled together, on one server of their own with fresh unit names each. */
export async function measureHerds(suite: Suite): Promise<Record<Herd, Release[]>> {
  const socketPath = join(suite.dir, "herd.sock");
  const env = clientEnv(socketPath);
  const server = await serve(suite.binary, socketPath, env);
  try {
    const kinds = Object.keys(HERDS) as Herd[];
    const schedule = shuffle(kinds.flatMap((kind) => Array<Herd>(HERDS[kind].trials).fill(kind)));
    const samples = Object.fromEntries(kinds.map((kind) => [kind, [] as Release[]])) as Record<Herd, Release[]>;
    for (const [n, kind] of schedule.entries()) {
      progress(`herd trial ${n + 1}/${schedule.length} (${HERDS[kind].label})`);
      samples[kind].push(await herdTrial({ ...suite, socketPath, env }, kind, `herd-${kind}-${samples[kind].length}`));
    }
    return samples;
  } finally {
    await stopServer(server);
  }
}

/**
 * One trial: a started `gate` unit, `size` units that want it, a waiter for each; once all
 * of them wait, one `unitsync complete gate` (or `touch`) is spawned and the clock runs
 * until the last waiter has its answer: the "started" line on a raw connection, the exit
 * of a process.
 */
async function herdTrial({ binary, dir, socketPath, env }: Suite, kind: Herd, prefix: string): Promise<Release> {
  const { waiter, size } = HERDS[kind];
  const gate = `${prefix}-gate`;
  const marker = join(dir, `${prefix}.done`);
  const units = Array.from({ length: size }, (_, i) => `${prefix}-w${i}`);
  if (waiter !== "marker") {
    await apiOk(socketPath, "POST", `/units/${gate}/start`, {});
    await inBatches(units, CONCURRENCY, async (unit) => {
      await apiOk(socketPath, "POST", `/units/${unit}/dependencies`, { depends_on: [gate] });
    });
  }
  const connections: RawConnection[] = [];
  let children: Child[] = [];
  let released: Promise<number>[];
  try {
    if (waiter === "raw") {
      for (let i = 0; i < size; i += CONNECT_BATCH) {
        connections.push(...(await Promise.all(units.slice(i, i + CONNECT_BATCH).map((unit) => holdStart(socketPath, unit, { timeout_ms: 60_000 })))));
      }
      // The answer line is the one after "waiting"; the time is taken in the same task it arrives in.
      released = connections.map((c) => c.waitFor((c) => c.lines.length > 1, "the answer line", 30_000).then(() => performance.now()));
    } else {
      children = units.map((unit) =>
        waiter === "start" ? spawn([binary, "start", unit, "--timeout", "1m"], env) : spawn(["bash", "-c", MARKER_LOOP, "marker-loop", marker], env),
      );
      await Promise.all(children.map((child) => child.stdout.until(WAITING_LINE, 30_000)));
      released = children.map((child) => child.exitedAt);
    }

    if (waiter === "raw") {
      // The server alone: a connection opened beforehand, the request written, its answer timed.
      const completing = await RawConnection.open(socketPath);
      connections.push(completing);
      const answered = completing.waitFor((c) => c.answer?.complete === true, "the complete's answer", 30_000).then(() => performance.now());
      const sentAt = performance.now();
      completing.write(httpRequest("POST", `/v1/units/${gate}/complete`, "{}"));
      const [answeredAt, ...releasedAt] = await within(Promise.all([answered, ...released]), 30_000, `release of ${prefix}`);
      if (completing.answer?.status !== 200) throw new Error(`complete ${gate} was answered ${completing.raw}`);
      for (const connection of connections.slice(0, -1)) {
        const line = connection.lines[1] as { type?: string };
        if (line.type !== "started") throw new Error(`a start of ${prefix} was answered ${JSON.stringify(line)}`);
      }
      return { trigger: answeredAt - sentAt, first: Math.min(...releasedAt) - sentAt, last: Math.max(...releasedAt) - sentAt };
    }
    const spawnedAt = performance.now();
    const trigger = spawn(waiter === "marker" ? ["touch", marker] : [binary, "complete", gate], env);
    const [triggeredAt, ...answeredAt] = await within(Promise.all([trigger.exitedAt, ...released]), 30_000, `release of ${prefix}`);
    await expectSuccess(trigger, `release of ${prefix}`);
    for (const connection of connections) {
      const line = connection.lines[1] as { type?: string };
      if (line.type !== "started") throw new Error(`a start of ${prefix} was answered ${JSON.stringify(line)}`);
    }
    for (const child of children) await expectSuccess(child, `waiter of ${prefix}`);
    return { trigger: triggeredAt - spawnedAt, first: Math.min(...answeredAt) - spawnedAt, last: Math.max(...answeredAt) - spawnedAt };
  } finally {
    for (const connection of connections) connection.close();
  }
}

export function reportHerds(samples: Record<Herd, Release[]>): SectionReport {
  const kinds = Object.keys(samples) as Herd[];
  const last = (kind: Herd) => summarize(samples[kind].map((r) => r.last));
  const markdown = [
    `## 5. Thundering herd: \`complete\` sent -> the last of N waiting starts has its answer`,
    ``,
    markdownTable(
      ["waiters", "trials", "last answered: median", "p99", "vs baseline (median)", "first answered (median)", "`complete` answered (median)"],
      kinds.map((kind) => {
        const s = last(kind);
        return [
          HERDS[kind].label,
          String(s.n),
          ms(s.median),
          ms(s.p99),
          BASELINE_OF[kind] === kind ? "-" : `${times(s.median / last(BASELINE_OF[kind]).median)} vs ${HERDS[BASELINE_OF[kind]].label.split(" (")[0]}`,
          ms(summarize(samples[kind].map((r) => r.first)).median),
          ms(summarize(samples[kind].map((r) => r.trigger)).median),
        ];
      }),
    ),
    ``,
    `Raw connections are held by the bench process itself (test/raw-http.ts), so the figure includes it reading 1,000 answers on one thread. ` +
      `The raw herds are released by a raw \`POST /v1/units/gate/complete\` and timed from its first byte (the server alone); ` +
      `the process herds by a \`unitsync complete\` (or \`touch\`) process, timed from its spawn, and "answered" is its exit.`,
  ].join("\n");
  const herd = last("raw1000");
  const answer = (kind: Herd) => summarize(samples[kind].map((r) => r.trigger));
  const fanOut = answer("raw1000").median - answer("raw1").median;
  const targets = [
    {
      target: `1,000 waiting starts released within ${TARGET_MS} ms (p99, from \`complete\` sent)`,
      measured: `${ms(herd.median)} (p99 ${ms(herd.p99)})`,
      pass: herd.p99 < TARGET_MS,
    },
    {
      target: `the \`complete\` releasing 1,000 starts answered within ${TRIGGER_MS} ms of the one releasing 1 (median)`,
      measured: `${ms(answer("raw1000").median)} vs ${ms(answer("raw1").median)} (+${ms(fanOut)}; p99 ${ms(answer("raw1000").p99)})`,
      pass: fanOut < TRIGGER_MS,
    },
  ];
  const json = Object.fromEntries(kinds.map((kind) => [kind, { last_ms: last(kind), samples: samples[kind] }]));
  return { markdown, json, targets };
}
