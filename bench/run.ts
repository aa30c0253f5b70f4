/**
 * The unitsync benchmark suite (issue 6), in one process tree: wake-up latency, chain
 * overhead, CLI cost, server memory, thundering herd and throughput, then failure
 * propagation, the readiness probe and a failure down a deep chain. Each section sets its
 * figures against baselines measured in the same run, trials interleaved, because the
 * machines it runs on are small and shared. Prints one Markdown report on stdout (progress
 * on stderr), and writes it to bench/results/latest.md and .json, with the wake-up chart in
 * bench/results/wakeup.svg.
 * Usage: `bun run bench/run.ts [--only SECTION,...] [binary]`.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { measureChains, reportChains } from "./chain.ts";
import { measureCli, reportCli } from "./cli-cost.ts";
import { measureCone, reportCone } from "./cone.ts";
import { measureDeepFailure, reportDeepFailure } from "./deep-failure.ts";
import { measureHerds, reportHerds } from "./herd.ts";
import {
  clientEnv,
  killAll,
  markdownTable,
  onAnyExit,
  serve,
  spawn,
  writeReport,
  type Child,
  type SectionReport,
  type Suite,
} from "./lib.ts";
import { measureProbe, reportProbe } from "./probe.ts";
import { measureServerMemory, reportServerMemory } from "./server-memory.ts";
import { measureThroughput, reportThroughput } from "./throughput.ts";
import { stripChart } from "./wake-up-svg.ts";
import { WAITERS, measureWakeUp, reportWakeUp, type Waiter } from "./wake-up.ts";

const ROOT = join(import.meta.dir, "..");
const SECTIONS = ["wake-up", "chain", "cli", "memory", "herd", "throughput", "cone", "probe", "deep-failure"] as const;
type Section = (typeof SECTIONS)[number];
const COLORS: Record<Waiter, string> = { unitsync: "#1e8449", coder: "#d35400", marker: "#6c3483" };

const { values: options, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { only: { type: "string" }, "no-pollers": { type: "boolean" } },
  allowPositionals: true,
});
const BINARY = resolve(positionals[0] ?? join(ROOT, "dist", "unitsync"));
const only = options.only?.split(",") ?? [...SECTIONS];
const unknown = only.filter((name) => !SECTIONS.includes(name as Section));
if (unknown.length > 0) {
  console.error(`error: unknown section ${unknown.join(", ")}; sections: ${SECTIONS.join(", ")}`);
  process.exit(2);
}
const runs = (section: Section) => only.includes(section);

const dir = mkdtempSync(join(tmpdir(), "unitsync-bench-"));
onAnyExit(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});
const socketPath = join(dir, "unitsync.sock");
const suite: Suite = { binary: BINARY, dir, socketPath, env: clientEnv(socketPath) };
let server: Child | undefined;

try {
  const began = performance.now();
  // The main server: wake-up, chains, CLI, cone and probe share it, on fresh unit names each
  // trial. Memory, herd and throughput start servers of their own, so their graphs are known.
  server = await serve(BINARY, socketPath, suite.env);
  const sections: (SectionReport & { name: Section })[] = [];
  let svg: string | undefined;
  let doNothingRss: number | undefined;

  if (runs("wake-up")) {
    const samples = await measureWakeUp(suite);
    sections.push({ name: "wake-up", ...reportWakeUp(samples) });
    svg = stripChart(
      "Wake-up latency: a dependency completes, the waiting script goes on",
      "Each dot is one trial. Box: 25th to 75th percentile; black bar: median; triangle: p99. Lower is better.",
      (Object.keys(WAITERS) as Waiter[]).map((kind) => ({ label: WAITERS[kind].label, color: COLORS[kind], samples: samples[kind].map((w) => w.fromSpawn) })),
      [
        { at: 15, label: "median target 15 ms" },
        { at: 50, label: "p99 target 50 ms" },
      ],
    );
  }
  if (runs("chain")) sections.push({ name: "chain", ...reportChains(await measureChains(suite, options["no-pollers"] ? ["coder", "marker"] : [])) });
  if (runs("cli")) {
    const cli = reportCli(await measureCli(suite));
    doNothingRss = cli.doNothingRss;
    sections.push({ name: "cli", ...cli });
  }
  if (runs("memory")) sections.push({ name: "memory", ...reportServerMemory(await measureServerMemory(suite), doNothingRss) });
  if (runs("herd")) sections.push({ name: "herd", ...reportHerds(await measureHerds(suite)) });
  if (runs("throughput")) sections.push({ name: "throughput", ...reportThroughput(await measureThroughput(suite)) });
  if (runs("cone")) sections.push({ name: "cone", ...reportCone(await measureCone(suite)) });
  if (runs("probe")) sections.push({ name: "probe", ...reportProbe(await measureProbe(suite)) });
  if (runs("deep-failure")) sections.push({ name: "deep-failure", ...reportDeepFailure(await measureDeepFailure(suite)) });

  const seconds = (performance.now() - began) / 1000;
  const version = (await spawn([BINARY, "--version"], suite.env).stdout.done).trim();
  const targets = sections.flatMap((s) => s.targets);
  const date = new Date().toISOString();
  const markdown = [
    `# unitsync benchmark`,
    ``,
    `${date}, ${version}, Bun ${Bun.version}, ${process.platform}-${process.arch}, ${availableParallelism()} cores, ${seconds.toFixed(0)} s.` +
      ` Medians and p99 (nearest rank: the maximum below 100 trials); ratios are to the baseline of the same run.`,
    ``,
    ...sections.flatMap((s) => [s.markdown, ``]),
    `## Targets`,
    ``,
    markdownTable(
      ["target", "measured", "result"],
      targets.map((t) => [t.target, t.measured, t.pass ? "met" : "MISSED"]),
    ),
    ``,
  ].join("\n");
  const json = {
    date,
    version,
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
    cores: availableParallelism(),
    seconds,
    ...Object.fromEntries(sections.map((s) => [s.name, s.json])),
    targets,
  };
  // A partial run (--only) must not overwrite the figures of the last whole one.
  const name = only.length === SECTIONS.length ? "latest" : "partial";
  await writeReport(name, { markdown, json });
  if (svg) {
    mkdirSync(join(import.meta.dir, "results"), { recursive: true });
    await Bun.write(join(import.meta.dir, "results", name === "latest" ? "wakeup.svg" : "wakeup-partial.svg"), svg);
  }
} finally {
  // SIGTERM to every child, the main server too: it removes its socket on the way out.
  killAll();
  await server?.proc.exited;
  rmSync(dir, { recursive: true, force: true });
}
