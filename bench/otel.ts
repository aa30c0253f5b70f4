/**
 * `bun run bench/otel.ts`: what the OTLP trace exporter costs, each figure against a baseline
 * measured in the same run, trials interleaved and shuffled.
 *
 * 1. The choice: unitsync's own encoder and exporter against the official OpenTelemetry JS SDK,
 *    each compiled as `build.ts` compiles unitsync, sending the same 1,000-unit start-up's
 *    trace to a local collector: binary size, wall and CPU time, peak memory (GNU time).
 * 2. `serve`: CPU time and memory of a server through a start-up of 1,000 and of 10,000 units
 *    (a chain driven over its socket), without an exporter, with OTLP protobuf, with OTLP JSON.
 * 3. The client commands: `ping` of main's binary against this tree's, and this tree's with
 *    OTEL_EXPORTER_OTLP_ENDPOINT set in the client's environment.
 * 4. Settling often: in process, a chain of 1,000 and of 10,000 units that settles after
 *    every unit (a batch each) against one that sends one batch at the end, against none.
 */
import { mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compile } from "../build.ts";
import { UnitGraph } from "../src/graph/index.ts";
import { SCOPE } from "../src/server/otlp/json.ts";
import { otlpProtobuf } from "../src/server/otlp/protobuf.ts";
import { StartupTracer } from "../src/server/tracer.ts";
import { apiOk, killAll, markdownTable, median, onAnyExit, processCpuMs, processMemory, progress, serve, shuffle, spawn, stopServer, timeRun } from "./lib.ts";

const ROOT = join(import.meta.dir, "..");
const CHOICE_ROUNDS = Number(process.env.OTEL_BENCH_ROUNDS ?? 15);
const PING_ROUNDS = Number(process.env.OTEL_BENCH_PINGS ?? 100);
const SERVE_TRIALS = Number(process.env.OTEL_BENCH_TRIALS ?? 3);
const dir = mkdtempSync(join(tmpdir(), "unitsync-bench-otel-"));
onAnyExit(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});

// A collector that takes everything and counts the requests.
let received = 0;
const collector = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(request) {
    await request.arrayBuffer();
    received++;
    return new Response("{}", { headers: { "content-type": "application/json" } });
  },
});
const endpoint = `http://127.0.0.1:${collector.port}`;

/** Wall, user+system CPU (ms) and peak memory (MiB) of one run, from GNU time. */
async function measured(cmd: string[]): Promise<{ wall: number; cpu: number; peak: number }> {
  const report = join(dir, "time.txt");
  const wall = await timeRun(["/usr/bin/time", "-o", report, "-f", "%U %S %M", ...cmd], { ...process.env } as Record<string, string>);
  const [user, system, peakKb] = (await Bun.file(report).text()).trim().split("\n").pop()!.split(" ").map(Number);
  return { wall, cpu: (user! + system!) * 1000, peak: peakKb! / 1024 };
}

const fmt = (value: number, digits = 1) => value.toFixed(digits);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

async function choice(): Promise<string> {
  progress("compiling the do-nothing binary, our exporter and the official SDK's");
  const programs = {
    "do-nothing Bun binary (baseline)": join(ROOT, "bench", "noop.ts"),
    "unitsync's own encoder + exporter": join(ROOT, "bench", "otel", "own.ts"),
    "official SDK (sdk-trace-base + exporter-trace-otlp-proto)": join(ROOT, "bench", "otel", "official.ts"),
  };
  const binaries: Record<string, string> = {};
  for (const [label, entry] of Object.entries(programs)) {
    binaries[label] = join(dir, label.replace(/\W+/g, "-"));
    await compile(entry, binaries[label]!);
  }
  const samples = new Map(Object.keys(binaries).map((label) => [label, [] as { wall: number; cpu: number; peak: number }[]]));
  for (let round = 0; round < CHOICE_ROUNDS + 1; round++) {
    progress(`choice: round ${round + 1} of ${CHOICE_ROUNDS + 1}`);
    for (const label of shuffle(Object.keys(binaries))) {
      const before = received;
      const sample = await measured([binaries[label]!, "1000", endpoint]);
      if (!label.startsWith("do-nothing") && received !== before + 1) throw new Error(`${label} sent ${received - before} requests, not 1`);
      if (round > 0) samples.get(label)!.push(sample);
    }
  }
  const baseline = samples.get("do-nothing Bun binary (baseline)")!;
  const rows = [...samples].map(([label, runs]) => {
    const wall = median(runs.map((r) => r.wall));
    const cpu = median(runs.map((r) => r.cpu));
    const peak = median(runs.map((r) => r.peak));
    return [
      label,
      mb(statSync(binaries[label]!).size),
      `${fmt(wall)} ms (${fmt(wall / median(baseline.map((r) => r.wall)), 2)}x)`,
      `${fmt(cpu, 0)} ms`,
      `${fmt(peak)} MiB (+${fmt(peak - median(baseline.map((r) => r.peak)))})`,
    ];
  });
  return markdownTable(["program: send one 1,000-unit start-up (3,001 spans)", "binary", "wall median", "CPU median", "peak memory median"], rows);
}

/** Drives a chain of `units` over the socket: each unit declares the one before, starts and completes. */
async function chain(socketPath: string, units: number): Promise<void> {
  for (let i = 0; i < units; i++) {
    if (i > 0) await apiOk(socketPath, "POST", `/units/u${i}/dependencies`, { depends_on: [`u${i - 1}`] });
    await apiOk(socketPath, "POST", `/units/u${i}/start`, {});
    await apiOk(socketPath, "POST", `/units/u${i}/complete`);
  }
}

async function serveCost(binary: string): Promise<string> {
  const modes: Record<string, Record<string, string>> = {
    "no exporter (baseline)": {},
    "OTLP http/protobuf": { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
    "OTLP http/json": { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" },
  };
  const rows: string[][] = [];
  for (const units of [1_000, 10_000]) {
    const results = new Map(Object.keys(modes).map((mode) => [mode, [] as { cpu: number; rss: number; hwm: number; idle: number }[]]));
    for (let trial = 0; trial < SERVE_TRIALS; trial++) {
      for (const mode of shuffle(Object.keys(modes))) {
        progress(`serve: ${units} units, ${mode}, trial ${trial + 1} of ${SERVE_TRIALS}`);
        const socketPath = join(dir, "s.sock");
        const server = await serve(binary, socketPath, { ...(process.env as Record<string, string>), ...modes[mode] });
        const idle = processMemory(server.proc.pid).rss;
        const before = received;
        await chain(socketPath, units);
        // Settled: every unit ended, plus the grace; the exporter's request is then answered.
        if (mode.startsWith("OTLP")) {
          while (received === before) await Bun.sleep(5);
        } else {
          await Bun.sleep(600);
        }
        const { rss, hwm } = processMemory(server.proc.pid);
        results.get(mode)!.push({ cpu: processCpuMs(server.proc.pid), rss, hwm, idle });
        await stopServer(server);
      }
    }
    const base = results.get("no exporter (baseline)")!;
    for (const [mode, runs] of results) {
      const cpu = median(runs.map((r) => r.cpu));
      rows.push([
        `${units.toLocaleString("en")} units, ${mode}`,
        `${fmt(cpu, 0)} ms (${cpu - median(base.map((r) => r.cpu)) >= 0 ? "+" : ""}${fmt(cpu - median(base.map((r) => r.cpu)), 0)})`,
        `${fmt(median(runs.map((r) => r.idle)) / 2 ** 20)} MiB`,
        `${fmt(median(runs.map((r) => r.rss)) / 2 ** 20)} MiB (${fmt((median(runs.map((r) => r.rss)) - median(base.map((r) => r.rss))) / 2 ** 20)})`,
        `${fmt(median(runs.map((r) => r.hwm)) / 2 ** 20)} MiB`,
      ]);
    }
  }
  return markdownTable(["server through one start-up (chain over the socket)", "server CPU, median (vs baseline)", "RSS idle", "RSS after the trace was sent (vs baseline)", "peak RSS"], rows);
}

async function clientCost(binary: string): Promise<string> {
  progress("building main's binary for the before figure");
  const mainSrc = join(dir, "main-src");
  await Bun.$`mkdir -p ${mainSrc} && git -C ${ROOT} archive main | tar -x -C ${mainSrc}`.quiet();
  symlinkSync(join(ROOT, "node_modules"), join(mainSrc, "node_modules"));
  const before = join(dir, "unitsync-main");
  await compile(join(mainSrc, "src", "main.ts"), before);
  const socketPath = join(dir, "ping.sock");
  const server = await serve(binary, socketPath, process.env as Record<string, string>);
  const env = { ...(process.env as Record<string, string>), NO_COLOR: "1", UNITSYNC_SOCKET_PATH: socketPath };
  const variants: Record<string, { cmd: string[]; env: Record<string, string> }> = {
    "main (before)": { cmd: [before, "ping"], env },
    "this branch": { cmd: [binary, "ping"], env },
    "this branch, OTEL_EXPORTER_OTLP_ENDPOINT set": { cmd: [binary, "ping"], env: { ...env, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } },
  };
  const walls = new Map(Object.keys(variants).map((label) => [label, [] as number[]]));
  for (let round = 0; round < PING_ROUNDS + 5; round++) {
    if (round % 20 === 0) progress(`ping: round ${round + 1} of ${PING_ROUNDS + 5}`);
    for (const label of shuffle(Object.keys(variants))) {
      const wall = await timeRun(variants[label]!.cmd, variants[label]!.env);
      if (round >= 5) walls.get(label)!.push(wall);
    }
  }
  await stopServer(server);
  const base = median(walls.get("main (before)")!);
  const rows = [...walls].map(([label, samples]) => [
    `\`unitsync ping\`, ${label}`,
    `${fmt(median(samples), 2)} ms`,
    `${fmt(median(samples) / base, 3)}x`,
    mb(statSync(label.startsWith("main") ? before : binary).size),
  ]);
  return markdownTable(["client", "wall median", "vs main", "binary"], rows);
}

/** CPU ms of a chain of `units` driven one unit per turn of the event loop, with a tracer that settles as `mode` says. */
async function settlingChain(units: number, mode: "no tracer batches" | "one batch at the end" | "a batch after every unit"): Promise<{ cpu: number; batches: number }> {
  const clock = () => performance.timeOrigin + performance.now();
  const graph = new UnitGraph({ clock });
  let batches = 0;
  const onSettled = (spans: Parameters<NonNullable<ConstructorParameters<typeof StartupTracer>[2]>["onSettled"] & {}>[0]) => {
    otlpProtobuf({ resource: [], scope: SCOPE, spans });
    batches++;
  };
  const tracer = new StartupTracer(graph, clock, mode === "no tracer batches" ? {} : { onSettled, graceMs: mode === "one batch at the end" ? 3_600_000 : 0 });
  const before = process.cpuUsage();
  for (let i = 0; i < units; i++) {
    if (i > 0) graph.declareDependencies(`u${i}`, [`u${i - 1}`]);
    graph.requestStart(`u${i}`);
    graph.start(`u${i}`);
    graph.complete(`u${i}`);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  tracer.shutdown();
  const used = process.cpuUsage(before);
  return { cpu: (used.user + used.system) / 1000, batches };
}

async function settling(): Promise<string> {
  const rows: string[][] = [];
  for (const units of [1_000, 10_000]) {
    const modes = ["no tracer batches", "one batch at the end", "a batch after every unit"] as const;
    const results = new Map(modes.map((mode) => [mode, [] as { cpu: number; batches: number }[]]));
    for (let trial = 0; trial < 3; trial++) {
      for (const mode of shuffle(modes)) {
        progress(`settling: ${units} units, ${mode}, trial ${trial + 1} of 3`);
        results.get(mode)!.push(await settlingChain(units, mode));
      }
    }
    const base = median(results.get("no tracer batches")!.map((r) => r.cpu));
    for (const [mode, runs] of results) {
      const cpu = median(runs.map((r) => r.cpu));
      rows.push([`${units.toLocaleString("en")} units, ${mode}`, String(runs[0]!.batches), `${fmt(cpu, 0)} ms`, `${fmt(((cpu - base) / units) * 1000, 0)} us`]);
    }
  }
  return markdownTable(["chain in process (spans and protobuf, no network)", "batches", "CPU median", "tracer's CPU per unit (vs no batches)"], rows);
}

const binary = join(dir, "unitsync");
await compile(join(ROOT, "src", "main.ts"), binary);
const sections = process.argv.slice(2);
const wanted = (name: string) => sections.length === 0 || sections.includes(name);
const out: string[] = [];
if (wanted("choice")) out.push(await choice());
if (wanted("serve")) out.push(await serveCost(binary));
if (wanted("client")) out.push(await clientCost(binary));
if (wanted("settling")) out.push(await settling());
collector.stop(true);
console.log(out.join("\n\n"));
process.exit(0);
