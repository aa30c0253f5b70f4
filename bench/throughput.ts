/**
 * Section 6, throughput: want and complete requests per second that one server answers
 * from 8 concurrent keep-alive connections (8 request loops in this process, fetch over
 * the socket), against `GET /v1/ping` the same way: the HTTP floor with no graph work.
 */
import { join } from "node:path";
import { api, clientEnv, markdownTable, processCpuMs, progress, serve, shuffle, stopServer, summarize, times, type SectionReport, type Suite } from "./lib.ts";

const CLIENTS = 8;
const TRIALS = 4;
const WARMUP_MS = 300;
const WINDOW_MS = 2_000;
const TARGET_OPS = 5_000;
// The window closes early once this many units exist: the server refuses units past its cap
// (50,000), and a faster machine would reach it within the window.
const MAX_UNITS = 40_000;

type Load = "wantComplete" | "ping";

const LOADS: Record<Load, string> = {
  wantComplete: "`want` then `complete` of a fresh unit, in a loop",
  ping: "`GET /v1/ping` in a loop (baseline: HTTP only)",
};

/** One trial: successful requests per second in the window, failed ones, and the server's CPU use (1 = one core). */
export interface Throughput {
  opsPerSecond: number;
  failed: number;
  serverCpu: number;
}

/** Trials of both loads, shuffled, each on a fresh server so every trial starts from an empty graph. */
export async function measureThroughput(suite: Suite): Promise<Record<Load, Throughput[]>> {
  const schedule = shuffle((Object.keys(LOADS) as Load[]).flatMap((load) => Array<Load>(TRIALS).fill(load)));
  const samples: Record<Load, Throughput[]> = { wantComplete: [], ping: [] };
  for (const [n, load] of schedule.entries()) {
    progress(`throughput trial ${n + 1}/${schedule.length} (${load})`);
    samples[load].push(await throughputTrial(suite, load, n));
  }
  return samples;
}

/**
 * 8 loops, each one request at a time on its own keep-alive connection, run for a
 * warm-up and then a timed window; a request counts when it succeeded inside the window.
 * Each want+complete unit is fresh (its dependency is never registered: a want costs the
 * same either way): 15,000 to 30,000 units a trial here, at most MAX_UNITS.
 */
async function throughputTrial({ binary, dir }: Suite, load: Load, trial: number): Promise<Throughput> {
  const socketPath = join(dir, `throughput-${trial}.sock`);
  const server = await serve(binary, socketPath, clientEnv(socketPath));
  let phase: "warmup" | "window" | "over" = "warmup";
  let units = 0;
  const tooMany = Promise.withResolvers<void>();
  let ok = 0;
  let failed = 0;
  const count = (success: boolean) => {
    if (phase !== "window") return;
    if (success) ok++;
    else failed++;
  };
  const loop = async (client: number) => {
    for (let i = 0; phase !== "over"; i++) {
      if (load === "ping") {
        count((await api(socketPath, "GET", "/ping")).ok);
        continue;
      }
      const unit = `load-${client}-${i}`;
      if (++units >= MAX_UNITS) tooMany.resolve();
      count((await api(socketPath, "POST", `/units/${unit}/dependencies`, { depends_on: ["load-dependency"] })).ok);
      count((await api(socketPath, "POST", `/units/${unit}/complete`)).ok);
    }
  };
  try {
    const loops = Array.from({ length: CLIENTS }, (_, client) => loop(client));
    await Bun.sleep(WARMUP_MS);
    const cpuBefore = processCpuMs(server.proc.pid);
    const openedAt = performance.now();
    phase = "window";
    await Promise.race([Bun.sleep(WINDOW_MS), tooMany.promise]);
    phase = "over";
    const elapsed = performance.now() - openedAt;
    const cpu = processCpuMs(server.proc.pid) - cpuBefore;
    await Promise.all(loops);
    return { opsPerSecond: (ok * 1000) / elapsed, failed, serverCpu: cpu / elapsed };
  } finally {
    await stopServer(server);
  }
}

export function reportThroughput(samples: Record<Load, Throughput[]>): SectionReport {
  const loads = Object.keys(samples) as Load[];
  const rate = (load: Load) => summarize(samples[load].map((t) => t.opsPerSecond));
  const ping = rate("ping");
  // A rate's bad tail is its low end: the "p99" of a rate is its 1st percentile, the minimum here.
  const markdown = [
    `## 6. Throughput: successful requests per second, ${CLIENTS} concurrent keep-alive connections from one process`,
    ``,
    markdownTable(
      ["load", "trials", "ops/s median", "ops/s worst (p99)", "median vs ping", "failed requests", "server CPU (median, 1 = one core)"],
      loads.map((load) => {
        const s = rate(load);
        return [
          LOADS[load],
          String(s.n),
          s.median.toFixed(0),
          s.min.toFixed(0),
          times(s.median / ping.median),
          String(samples[load].reduce((sum, t) => sum + t.failed, 0)),
          summarize(samples[load].map((t) => t.serverCpu)).median.toFixed(2),
        ];
      }),
    ),
    ``,
    `Each trial: a fresh server, ${WARMUP_MS} ms warm-up, then a ${WINDOW_MS / 1000}-s window (closed early at ${MAX_UNITS.toLocaleString("en")} units);` +
      ` an op is one HTTP request (a \`want\` or a \`complete\`).` +
      ` The load generator shares the 2 cores with the server.`,
  ].join("\n");
  const ours = rate("wantComplete");
  const targets = [
    {
      target: `>= ${TARGET_OPS.toLocaleString("en")} want/complete ops/s (median, ${CLIENTS} connections)`,
      measured: `${ours.median.toFixed(0)} ops/s (worst ${ours.min.toFixed(0)})`,
      pass: ours.median >= TARGET_OPS,
    },
  ];
  return { markdown, json: Object.fromEntries(loads.map((load) => [load, { ops_per_second: rate(load), samples: samples[load] }])), targets };
}
