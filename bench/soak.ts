/**
 * Issue 7's soak, long: `npm run bench:soak` (builds dist/unitsync first), or
 * `node_modules/.bin/bun run bench/soak.ts [--seconds N] [--rounds N] [--waiters N]
 * [--clients N] [--fresh N] [path/to/unitsync]`. Writes bench/results/soak.md and .json.
 */
import { join } from "node:path";
import { markdownTable, onAnyExit, progress, writeReport } from "./lib.ts";
import {
  killSoakServers,
  MEMORY_BYTES_PER_UNIT,
  MEMORY_TOLERANCE_BYTES,
  plannedUnits,
  runSoak,
  SOAK_DEFAULTS,
  type RoundReport,
  type SoakOptions,
  type SoakReport,
} from "./soak-load.ts";

const FLAGS: Record<string, keyof Omit<SoakOptions, "binary" | "onProgress">> = {
  "--seconds": "seconds",
  "--rounds": "rounds",
  "--waiters": "waiters",
  "--clients": "clients",
  "--fresh": "freshCycles",
};

function parseArgs(argv: string[]): SoakOptions {
  const options: SoakOptions = { ...SOAK_DEFAULTS, binary: join(import.meta.dir, "..", "dist", "unitsync") };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const field = FLAGS[arg];
    if (field === undefined) {
      if (arg.startsWith("-")) throw new Error(`unknown flag ${arg}; known: ${Object.keys(FLAGS).join(", ")}`);
      options.binary = arg;
      continue;
    }
    const value = Number(argv[++i]);
    // No waiters, or no fresh units, is a soak too: it shows what requests alone do to memory.
    const least = field === "waiters" || field === "freshCycles" ? 0 : 1;
    if (!(value >= least)) throw new Error(`${arg} needs a number, at least ${least}`);
    options[field] = value;
  }
  return options;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const signedMib = (bytes: number) => `${bytes >= 0 ? "+" : ""}${mib(bytes)}`;
const count = (n: number) => n.toLocaleString("en-US");

const woken = (round: RoundReport) => round.waiters.started + round.waiters.dependencyFailed;

/** A round is correct when nothing went wrong that the soak can see; memory is judged apart. */
function correct(round: RoundReport): boolean {
  return (
    round.errorCount === 0 &&
    round.waiters.open === 0 &&
    woken(round) === round.waiters.expected &&
    round.loadWakeUps.received === round.loadWakeUps.expected &&
    round.graph.mismatches.length === 0 &&
    round.graph.units === round.graph.expectedUnits
  );
}

function render(report: SoakReport): string {
  const { options } = report;
  const load = markdownTable(
    [
      "round",
      "load",
      "ops (want / start / complete / fail)",
      "ops/s",
      "errors",
      "held starts woken / held (started, dependency_failed)",
      "wake-up median / p99",
      "load starts woken / waited",
      "units: listed / expected",
      "server CPU",
    ],
    report.rounds.map((r) => [
      String(r.round),
      `${(r.loadMs / 1000).toFixed(1)} s`,
      `${count(r.ops.total)} (${[r.ops.want, r.ops.start, r.ops.complete, r.ops.fail].map(count).join(" / ")})`,
      count(Math.round(r.ops.total / (r.loadMs / 1000))),
      String(r.errorCount),
      `${count(woken(r))} / ${count(r.waiters.expected)} (${count(r.waiters.started)}, ${count(r.waiters.dependencyFailed)})`,
      r.waiters.expected === 0 ? "-" : `${r.waiters.latencyMs.median.toFixed(1)} / ${r.waiters.latencyMs.p99.toFixed(1)} ms`,
      `${count(r.loadWakeUps.received)} / ${count(r.loadWakeUps.expected)}`,
      `${count(r.graph.units)} / ${count(r.graph.expectedUnits)}${r.graph.mismatches.length > 0 ? " (wrong)" : ""}`,
      `${Math.round((100 * r.cpuMs.server) / r.loadMs)}%`,
    ]),
  );
  const memory = markdownTable(
    ["round", "RSS before", "peak", "at load end", "after (settled)", "after vs round 1", "allowance", "result"],
    report.rounds.map((r, i) => [
      String(r.round),
      mib(r.rss.before),
      mib(r.rss.peak),
      mib(r.rss.end),
      mib(r.rss.after),
      signedMib(report.memory.growth[i]!),
      i === 0 ? "-" : mib(report.memory.allowance[i]!),
      i === 0 ? "baseline" : report.memory.growth[i]! <= report.memory.allowance[i]! ? "pass" : "FAIL",
    ]),
  );
  const allCorrect = report.rounds.every(correct) && report.serverWarnings.length === 0;
  const problems = [
    ...report.rounds.flatMap((r) => [...r.errors, ...r.graph.mismatches].map((p) => `- round ${r.round}: ${p}`)),
    ...report.serverWarnings.map((line) => `- server log: ${line}`),
  ];
  const units = count(report.rounds.at(-1)?.graph.units ?? 0);
  return [
    `${options.rounds} rounds of ${options.seconds} s: ${count(options.waiters)} starts held on ${options.gates} gates ` +
      `(every ${options.failEvery}th fails), ${options.clients} load clients, ${options.freshCycles} fresh-unit cycles ` +
      `per client per round; ${units} units at the end.`,
    "",
    load,
    "",
    memory,
    "",
    `Allowance: ${mib(MEMORY_TOLERANCE_BYTES)} plus ${MEMORY_BYTES_PER_UNIT / 1024} KiB for each unit added since round 1. ` +
      `Server log: ${count(report.serverLogLines)} lines, ${report.serverWarnings.length} not info.`,
    "",
    `Result: ${allCorrect ? "pass" : "FAIL"} (errors, lost wake-ups, graph), ${report.memory.flat ? "pass" : "FAIL"} (memory).`,
    ...(problems.length > 0 ? ["", ...problems] : []),
    "",
  ].join("\n");
}

const options = parseArgs(process.argv.slice(2));
onAnyExit(killSoakServers);
progress(`soak: ${options.rounds} x ${options.seconds} s, ${plannedUnits(options)} units planned, on ${options.binary}`);
const report = await runSoak({ ...options, onProgress: progress });
await writeReport("soak", { markdown: render(report), json: report });
