/**
 * Section 3, CLI cost: the wall time and peak memory of one client command, against
 * compiled baselines that show where the time goes (process spawn, Bun runtime, one fetch).
 */
import { join } from "node:path";
import { compile } from "../build.ts";
import {
  apiOk,
  inBatches,
  markdownTable,
  mib,
  ms,
  peakMemory,
  progress,
  shuffle,
  summarize,
  timeRun,
  times,
  type SectionReport,
  type Suite,
  type Summary,
} from "./lib.ts";

const CLI_RUNS = 100;
const WARMUP = 5;
const TRUE = Bun.which("true") ?? "/bin/true";
/** The labels of the client commands the 1.5x target is about. */
const TARGET_COMMANDS = ["`unitsync ping`", "`unitsync want`", "`unitsync complete`", "`unitsync status -o json`"];
const DO_NOTHING = "do-nothing Bun binary (baseline)";
/** The help pages issue 15 asks to cost what `ping` costs; `up` has the heaviest module behind it. */
const HELP_COMMANDS = ["`unitsync --help`", "`unitsync up --help`"];

export interface CliSamples {
  label: string;
  /** Wall times in ms, spawn to exit. */
  walls: number[];
  /** Peak resident memory in bytes, from separate runs under GNU time. */
  peaks: number[];
}

/**
 * Wall time of one client process per command, and in a separate run its peak memory
 * (under GNU time, which would add its own start-up to a wall time), rounds interleaved
 * and shuffled.
 */
export async function measureCli({ binary, dir, env, socketPath }: Suite): Promise<CliSamples[]> {
  progress("compiling the CLI baselines");
  const noop = join(dir, "noop");
  const leanPing = join(dir, "lean-ping");
  const leanFfiPing = join(dir, "lean-ffi-ping");
  await compile(join(import.meta.dir, "noop.ts"), noop);
  await compile(join(import.meta.dir, "lean-ping.ts"), leanPing);
  await compile(join(import.meta.dir, "lean-ffi-ping.ts"), leanFfiPing);

  const rounds = WARMUP + CLI_RUNS;
  progress("registering units for the CLI runs");
  // Each run needs a unit of its own to complete: one for the timed run, one for the memory run.
  const runs = Array.from({ length: rounds }, (_, round) => [`t${round}`, `m${round}`]).flat();
  await apiOk(socketPath, "POST", "/units/cli-status/dependencies", { depends_on: ["cli-dep"] });
  await inBatches(runs, 8, async (run) => {
    await apiOk(socketPath, "POST", `/units/cli-complete-${run}/dependencies`, { depends_on: ["cli-dep"] });
  });

  const commands: { label: string; command: (run: string) => string[] }[] = [
    { label: "`true` (spawn floor: not Bun)", command: () => [TRUE] },
    { label: DO_NOTHING, command: () => [noop] },
    { label: "lean client: one fetch over the socket", command: () => [leanPing] },
    { label: "lean blocking client: libc's socket calls through FFI, as unitsync's (its floor)", command: () => [leanFfiPing] },
    { label: "`unitsync --version` (no socket)", command: () => [binary, "--version"] },
    { label: "`unitsync --help`", command: () => [binary, "--help"] },
    { label: "`unitsync up --help`", command: () => [binary, "up", "--help"] },
    { label: "`unitsync ping`", command: () => [binary, "ping"] },
    { label: "`unitsync want`", command: (run) => [binary, "want", `cli-want-${run}`, "cli-dep"] },
    { label: "`unitsync complete`", command: (run) => [binary, "complete", `cli-complete-${run}`] },
    { label: "`unitsync status -o json`", command: () => [binary, "status", "cli-status", "-o", "json"] },
  ];
  const samples = commands.map((c) => ({ label: c.label, walls: [] as number[], peaks: [] as number[] }));
  const kinds = commands.flatMap((_, index) => [{ index, memory: false }, { index, memory: true }]);
  for (let round = 0; round < rounds; round++) {
    if (round % 20 === 0) progress(`CLI round ${round + 1}/${rounds}`);
    for (const { index, memory } of shuffle(kinds)) {
      const command = commands[index]!.command(`${memory ? "m" : "t"}${round}`);
      const value = memory ? await peakMemory(command, env, dir) : await timeRun(command, env);
      if (round >= WARMUP) samples[index]![memory ? "peaks" : "walls"].push(value);
    }
  }
  return samples;
}

export function reportCli(cli: CliSamples[]): SectionReport & { doNothingRss: number } {
  const rows = cli.map((c) => ({ label: c.label, wall: summarize(c.walls), rss: summarize(c.peaks) }));
  const noop = rows.find((r) => r.label === DO_NOTHING)!;
  const markdown = [
    `## 3. CLI cost: one process, spawn to exit, and its peak memory (separate runs under GNU time)`,
    ``,
    markdownTable(
      ["command", "runs", "median", "p99", "median vs do-nothing", "p99 vs do-nothing", "peak RSS median", "peak RSS p99", "peak RSS vs do-nothing"],
      rows.map((r) => [
        r.label,
        String(r.wall.n),
        ms(r.wall.median),
        ms(r.wall.p99),
        times(r.wall.median / noop.wall.median),
        times(r.wall.p99 / noop.wall.p99),
        mib(r.rss.median),
        mib(r.rss.p99),
        times(r.rss.median / noop.rss.median),
      ]),
    ),
  ].join("\n");
  const commands = rows.filter((r) => TARGET_COMMANDS.includes(r.label));
  const worst = (pick: (r: (typeof rows)[number]) => Summary) =>
    commands.reduce((a, b) => (pick(a).median / pick(noop).median >= pick(b).median / pick(noop).median ? a : b));
  const slowest = worst((r) => r.wall);
  const heaviest = worst((r) => r.rss);
  const slowestHelp = rows.filter((r) => HELP_COMMANDS.includes(r.label)).reduce((a, b) => (a.wall.median >= b.wall.median ? a : b));
  const ping = rows.find((r) => r.label === "`unitsync ping`")!;
  const targets = [
    {
      target: "`ping` wall time <= 1.25x do-nothing binary (median)",
      measured: times(ping.wall.median / noop.wall.median),
      pass: ping.wall.median <= 1.25 * noop.wall.median,
    },
    {
      target: "help wall time <= 1.3x do-nothing binary (median; worst of --help, up --help)",
      measured: `${times(slowestHelp.wall.median / noop.wall.median)} (${slowestHelp.label})`,
      pass: slowestHelp.wall.median <= 1.3 * noop.wall.median,
    },
    {
      target: "CLI wall time <= 1.5x do-nothing binary (median; worst of ping, want, complete, status)",
      measured: `${times(slowest.wall.median / noop.wall.median)} (${slowest.label})`,
      pass: slowest.wall.median <= 1.5 * noop.wall.median,
    },
    {
      target: "CLI peak memory <= 1.5x do-nothing binary (median; worst of the four)",
      measured: `${times(heaviest.rss.median / noop.rss.median)} (${heaviest.label}, ${mib(heaviest.rss.median)})`,
      pass: heaviest.rss.median <= 1.5 * noop.rss.median,
    },
  ];
  const json = rows.map((r, i) => ({ label: r.label, wall_ms: r.wall, peak_rss_bytes: r.rss, samples: { wall_ms: cli[i]!.walls, peak_rss_bytes: cli[i]!.peaks } }));
  return { markdown, json, targets, doNothingRss: noop.rss.median };
}
