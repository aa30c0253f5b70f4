/**
 * Which `bun build --compile` flags give unitsync the fastest start that still works (issue 6).
 * Compiles src/main.ts with every combination of minify, bytecode, format and source map,
 * checks that each binary answers `--version` and a real `ping` over the socket, then times
 * `--version` and `ping` of every working binary against a do-nothing binary compiled with
 * build.ts's flags, rounds shuffled together. src/main.ts awaits at its top level, which CJS
 * cannot bundle, so CJS is also tried on a copy whose top level runs in an async function
 * (with ESM on that copy as its control). Usage: `bun run bench/flags.ts`.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { compile } from "../build.ts";
import { killAll, markdownTable, median, ms, onAnyExit, percentile, progress, shuffle, spawn, summarize, writeReport, type Child, type Summary } from "./lib.ts";

const ROOT = join(import.meta.dir, "..");
const ENTRY = join(ROOT, "src", "main.ts");
const ROUNDS = 150;
const WARMUP = 5;
// A gain smaller than this is within what this machine's noise moves a paired median.
const CLEAR_GAIN_MS = 0.2;
const RSS_ROUNDS = 10;
const TIME = Bun.which("time", { PATH: "/usr/bin:/bin" });

type Format = "esm" | "cjs";
type Sourcemap = "none" | "linked" | "inline" | "external";
/** src/main.ts as it is, or a copy with its top level in an async function (no top-level await). */
type Entry = "main" | "no-tla";

interface Flags {
  entry: Entry;
  minify: boolean;
  bytecode: boolean;
  format: Format;
  sourcemap: Sourcemap;
}

// build.ts's choice; the row it lands on is marked in the table.
const CURRENT: Flags = { entry: "main", minify: true, bytecode: true, format: "esm", sourcemap: "none" };

const SOURCEMAPS: Record<Entry, readonly Sourcemap[]> = {
  main: ["none", "linked", "inline", "external"],
  // The copy is there for the format alone; source maps are measured on src/main.ts.
  "no-tla": ["none"],
};

const FLAG_SETS: Flags[] = (["main", "no-tla"] as const).flatMap((entry) =>
  [true, false].flatMap((minify) =>
    [true, false].flatMap((bytecode) =>
      (["esm", "cjs"] as const).flatMap((format) => SOURCEMAPS[entry].map((sourcemap) => ({ entry, minify, bytecode, format, sourcemap }))),
    ),
  ),
);

// How each dimension reads in a label; the order is the order of the words.
const DIMENSIONS = {
  entry: (v: Entry) => (v === "main" ? "" : "main.ts without top-level await:"),
  minify: (v: boolean) => (v ? "minify" : "no minify"),
  bytecode: (v: boolean) => (v ? "bytecode" : "no bytecode"),
  format: (v: Format) => v,
  sourcemap: (v: Sourcemap) => (v === "none" ? "no sourcemap" : `sourcemap ${v}`),
} as const;

/** One distinct binary: source-map modes that produce the same bytes share it. */
interface Variant {
  flags: Flags[];
  binary: string;
  sizeBytes: number;
  broken?: string;
  /** A byte-for-byte copy of the current binary: what "no difference" looks like in this run. */
  control?: boolean;
}

interface Measured extends Variant {
  version: number[];
  ping: number[];
  pingRss: number[];
  pingCpu: number[];
}

const dir = mkdtempSync(join(tmpdir(), "unitsync-flags-"));
onAnyExit(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});
const socketPath = join(dir, "s.sock");
// Without UNITSYNC_SOCKET_PATH, so only --socket-path decides where a client connects.
const { UNITSYNC_SOCKET_PATH: _ignored, ...inherited } = process.env as Record<string, string>;
const env = { ...inherited, NO_COLOR: "1" };
let server: Child | undefined;

try {
  const noop = join(dir, "noop");
  progress("compiling the do-nothing baseline");
  await compile(join(import.meta.dir, "noop.ts"), noop);
  const entries: Record<Entry, string> = { main: ENTRY, "no-tla": join(dir, "main-no-tla.ts") };
  writeFileSync(entries["no-tla"], withoutTopLevelAwait(readFileSync(ENTRY, "utf8"), dirname(ENTRY)));
  const { variants, broken } = await compileAll(entries);
  const current = variants.find((v) => v.flags.some((f) => sameFlags(f, CURRENT)));
  if (!current) throw new Error(`the current flags (${label([CURRENT])}) did not compile: ${broken.find((b) => sameFlags(b.flags[0]!, CURRENT))?.broken}`);
  const copy = join(dir, "control", "unitsync");
  mkdirSync(dirname(copy));
  copyFileSync(current.binary, copy);
  variants.push({ ...current, binary: copy, control: true });

  server = spawn([current.binary, "serve", "--socket-path", socketPath], env);
  await server.stderr.until("serving on");
  for (const [n, variant] of variants.entries()) {
    progress(`checking variant ${n + 1}/${variants.length}`);
    variant.broken = await check(variant.binary);
  }
  const working = variants.filter((v) => !v.broken);
  const measured = await measure(noop, working);
  const report = buildReport(measured, groupBroken([...variants.filter((v) => v.broken), ...broken]), current, await versionOf(current.binary));
  await writeReport("flags", report);
} finally {
  killAll();
  await server?.proc.exited;
  rmSync(dir, { recursive: true, force: true });
}

/**
 * src/main.ts with its imports kept at the top (their specifiers made absolute, as the copy
 * lives in the temp directory) and everything after them inside an async function.
 */
function withoutTopLevelAwait(source: string, from: string): string {
  const lines = source.split("\n");
  let end = lines.findLastIndex((line) => /^import\b/.test(line));
  while (end >= 0 && end < lines.length - 1 && !lines[end]!.trimEnd().endsWith(";")) end++;
  const imports = lines
    .slice(0, end + 1)
    .join("\n")
    .replace(/(\bfrom\s*|^import\s*)"([^"]+)"/gm, (_, keyword: string, specifier: string) => `${keyword}${JSON.stringify(Bun.resolveSync(specifier, from))}`);
  return `${imports}\nvoid (async () => {\n${lines.slice(end + 1).join("\n")}\n})();\n`;
}

function sameFlags(a: Flags, b: Flags): boolean {
  return a.entry === b.entry && a.minify === b.minify && a.bytecode === b.bytecode && a.format === b.format && a.sourcemap === b.sourcemap;
}

/**
 * One label for a set of flag combinations: a value they share is named, a dimension where
 * they take every value is "any ..." (source maps that gave one binary are joined by "="),
 * and a set that is no such product is listed in full.
 */
function label(sets: readonly Flags[], oneBinary = false): string {
  const dimensions = Object.keys(DIMENSIONS) as (keyof Flags)[];
  const values = dimensions.map((d) => [...new Set(sets.map((f) => f[d]))]);
  const parts = dimensions.map((d, i) => {
    const name = (value: unknown) => (DIMENSIONS[d] as (v: unknown) => string)(value);
    if (values[i]!.length === 1) return name(values[i]![0]);
    return d === "sourcemap" && oneBinary ? `sourcemap ${values[i]!.join(" = ")}` : `any ${d}`;
  });
  const isProduct = values.reduce((product, v) => product * v.length, 1) === sets.length;
  if (!isProduct) return sets.map((f) => label([f])).join("; ");
  return parts
    .filter((part) => part !== "")
    .join(", ")
    .replace(":,", ":");
}

function variantLabel(variant: Variant): string {
  return label(variant.flags, !variant.broken);
}

/** Broken variants with the same error in one row, so sixteen failed CJS builds take one line. */
function groupBroken(broken: readonly Variant[]): Variant[] {
  const byError = new Map<string, Variant>();
  for (const variant of broken) {
    const same = byError.get(variant.broken!);
    if (same) same.flags.push(...variant.flags);
    else byError.set(variant.broken!, { ...variant, flags: [...variant.flags] });
  }
  return [...byError.values()];
}

/**
 * Compiles every flag set with build.ts's options otherwise (no autoloading, target bun).
 * A failed build is a broken variant; binaries with identical bytes become one variant.
 */
async function compileAll(entries: Record<Entry, string>): Promise<{ variants: Variant[]; broken: Variant[] }> {
  const byHash = new Map<bigint | number, Variant>();
  const broken: Variant[] = [];
  for (const [n, flags] of FLAG_SETS.entries()) {
    progress(`compiling ${n + 1}/${FLAG_SETS.length}: ${label([flags])}`);
    const outdir = join(dir, `v${n}`);
    mkdirSync(outdir);
    const binary = join(outdir, "unitsync");
    const error = await compileVariant(entries[flags.entry], flags, binary);
    if (error) {
      broken.push({ flags: [flags], binary, sizeBytes: 0, broken: `build failed: ${error}` });
      continue;
    }
    const hash = Bun.hash(await Bun.file(binary).arrayBuffer());
    const same = byHash.get(hash);
    if (same) {
      same.flags.push(flags);
      rmSync(outdir, { recursive: true, force: true });
    } else {
      byHash.set(hash, { flags: [flags], binary, sizeBytes: statSync(binary).size });
    }
  }
  return { variants: [...byHash.values()], broken };
}

/** The build's first error, or undefined when it wrote a binary. */
async function compileVariant(entry: string, flags: Flags, outfile: string): Promise<string | undefined> {
  try {
    const result = await Bun.build({
      entrypoints: [entry],
      compile: { outfile, autoloadDotenv: false, autoloadBunfig: false, autoloadTsconfig: false, autoloadPackageJson: false },
      minify: flags.minify,
      bytecode: flags.bytecode,
      format: flags.format,
      sourcemap: flags.sourcemap,
      // As build.ts splits (issue 15), so that a variant differs from the current build only
      // in the flags it names; CJS output cannot be split.
      ...(flags.format === "esm" ? { splitting: true, minChunkSize: 16_384 } : {}),
      target: "bun",
      throw: false,
    });
    const errors = result.logs.filter((log) => log.level === "error");
    if (!result.success || errors.length > 0) return oneLine(errors.map(String).join("; ") || "no output");
    return undefined;
  } catch (error) {
    return oneLine(String(error));
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim().slice(0, 200);
}

/** Why the binary does not work (`--version`, then a `ping` of the server), or undefined. */
async function check(binary: string): Promise<string | undefined> {
  const version = await run([binary, "--version"]);
  if (version.code !== 0 || !version.stdout.startsWith("unitsync ")) return `--version: exit ${version.code}: ${oneLine(version.stderr || version.stdout)}`;
  const ping = await run([binary, "ping", "--socket-path", socketPath]);
  if (ping.code !== 0 || !ping.stdout.includes("Success")) return `ping: exit ${ping.code}: ${oneLine(ping.stderr || ping.stdout)}`;
  return undefined;
}

async function run(cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = spawn(cmd, env);
  const [code, stdout, stderr] = await Promise.all([child.proc.exited, child.stdout.done, child.stderr.done]);
  return { code, stdout, stderr };
}

async function versionOf(binary: string): Promise<string> {
  return (await run([binary, "--version"])).stdout.trim();
}

/** Wall time from spawn to exit and the child's CPU time; fails on a non-zero exit. */
async function timed(cmd: string[]): Promise<{ wall: number; cpu: number }> {
  const started = performance.now();
  const child = spawn(cmd, env);
  const exited = await child.exitedAt;
  const code = await child.proc.exited;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${(await child.stderr.done).trim()}`);
  const usage = child.proc.resourceUsage();
  return { wall: exited - started, cpu: usage ? Number(usage.cpuTime.total) / 1000 : Number.NaN };
}

/**
 * Peak RSS in bytes, read by GNU time: the maxRSS that Bun's resourceUsage() reports is at
 * least the bench's own peak (hundreds of MB after compiling), because Linux carries the
 * parent's high-water mark into a child spawned with vfork across its exec. time forks from
 * a process of about 2 MB, so its figure is the child's own.
 */
async function peakRss(cmd: string[]): Promise<number> {
  if (!TIME) return Number.NaN;
  const result = await run([TIME, "-f", "%M", ...cmd]);
  if (result.code !== 0) throw new Error(`${cmd.join(" ")} exited ${result.code}: ${result.stderr.trim()}`);
  return Number(result.stderr.trim().split("\n").at(-1)) * 1024;
}

/** `--version` and `ping` of every working variant and the do-nothing binary, each round shuffled. */
async function measure(noop: string, variants: Variant[]): Promise<{ noop: number[]; noopRss: number[]; variants: Measured[] }> {
  const measured: Measured[] = variants.map((v) => ({ ...v, version: [], ping: [], pingRss: [], pingCpu: [] }));
  const noopSamples: number[] = [];
  const noopRss: number[] = [];
  type Trial = { kind: "noop" } | { kind: "version" | "ping"; variant: Measured };
  const trials: Trial[] = [
    { kind: "noop" },
    ...measured.flatMap((variant) => [{ kind: "version" as const, variant }, { kind: "ping" as const, variant }]),
  ];
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    if (round % 10 === 0) progress(`round ${round + 1}/${WARMUP + ROUNDS} (${trials.length} runs each)`);
    for (const trial of shuffle(trials)) {
      if (trial.kind === "noop") {
        const t = await timed([noop]);
        if (round >= WARMUP) noopSamples.push(t.wall);
      } else if (trial.kind === "version") {
        const t = await timed([trial.variant.binary, "--version"]);
        if (round >= WARMUP) trial.variant.version.push(t.wall);
      } else {
        const t = await timed([trial.variant.binary, "ping", "--socket-path", socketPath]);
        if (round < WARMUP) continue;
        trial.variant.ping.push(t.wall);
        trial.variant.pingCpu.push(t.cpu);
      }
    }
  }
  for (let round = 0; round < RSS_ROUNDS; round++) {
    progress(`peak RSS round ${round + 1}/${RSS_ROUNDS}`);
    for (const trial of shuffle(trials)) {
      if (trial.kind === "noop") noopRss.push(await peakRss([noop]));
      else if (trial.kind === "ping") trial.variant.pingRss.push(await peakRss([trial.variant.binary, "ping", "--socket-path", socketPath]));
    }
  }
  return { noop: noopSamples, noopRss, variants: measured };
}

/**
 * A 95% interval for the median of paired differences, by resampling rounds. Rounds on a
 * shared machine are not quite independent, so read it beside the A/A control.
 */
function bootstrapMedianCi(differences: readonly number[], resamples = 2000): [number, number] {
  const medians = Array.from({ length: resamples }, () => median(differences.map(() => differences[Math.floor(Math.random() * differences.length)]!)));
  return [percentile(medians, 2.5), percentile(medians, 97.5)];
}

function mb(bytes: number): string {
  return Number.isNaN(bytes) ? "-" : `${(bytes / 1e6).toFixed(1)} MB`;
}

function ratio(value: number, base: number): string {
  return `${(value / base).toFixed(2)}x`;
}

function signedMs(value: number): string {
  return `${value < 0 ? "-" : "+"}${ms(Math.abs(value))}`;
}

function buildReport(
  results: { noop: number[]; noopRss: number[]; variants: Measured[] },
  broken: Variant[],
  current: Variant,
  version: string,
) {
  const noop = summarize(results.noop);
  const currentMeasured = results.variants.find((v) => v.binary === current.binary)!;
  const rows = results.variants
    .map((v) => ({
      variant: v,
      version: summarize(v.version),
      ping: summarize(v.ping),
      rss: median(v.pingRss),
      cpu: median(v.pingCpu),
      // Every round ran every variant, so the per-round difference cancels what the machine was doing then.
      pingVsCurrent: median(v.ping.map((sample, i) => sample - currentMeasured.ping[i]!)),
      versionVsCurrent: median(v.version.map((sample, i) => sample - currentMeasured.version[i]!)),
      pingVsCurrentCi: bootstrapMedianCi(v.ping.map((sample, i) => sample - currentMeasured.ping[i]!)),
      pingFasterShare: v.ping.filter((sample, i) => sample < currentMeasured.ping[i]!).length / v.ping.length,
    }))
    // By the paired difference: it is what the noise of a shared machine moves least.
    .sort((a, b) => a.pingVsCurrent - b.pingVsCurrent || a.versionVsCurrent - b.versionVsCurrent);
  const isCurrent = (v: Variant) => v.binary === current.binary;
  const fmt = (s: Summary) => [ms(s.median), ms(s.p99), ratio(s.median, noop.median)];
  const table = markdownTable(
    [
      "flags",
      "size",
      "`--version` median",
      "p99",
      "vs do-nothing",
      "`ping` median",
      "p99",
      "vs do-nothing",
      "`--version` vs current (paired median)",
      "`ping` vs current (paired median, 95% CI)",
      "rounds `ping` beat current",
      "`ping` peak RSS",
      "`ping` CPU",
      "works",
    ],
    [
      [
        "do-nothing binary (`noop.ts`, current flags; baseline)",
        "-",
        ms(noop.median),
        ms(noop.p99),
        "1.00x",
        "-",
        "-",
        "-",
        "-",
        "-",
        "-",
        mb(median(results.noopRss)),
        "-",
        "yes",
      ],
      ...rows.map((r) => [
        isCurrent(r.variant)
          ? `**${variantLabel(r.variant)} (current)**`
          : r.variant.control
            ? "A/A control: a copy of the current binary"
            : variantLabel(r.variant),
        mb(r.variant.sizeBytes),
        ...fmt(r.version),
        ...fmt(r.ping),
        isCurrent(r.variant) ? "-" : signedMs(r.versionVsCurrent),
        isCurrent(r.variant) ? "-" : `${signedMs(r.pingVsCurrent)} (${signedMs(r.pingVsCurrentCi[0])} to ${signedMs(r.pingVsCurrentCi[1])})`,
        isCurrent(r.variant) ? "-" : `${Math.round(r.pingFasterShare * 100)}%`,
        mb(r.rss),
        ms(r.cpu),
        "yes",
      ]),
      ...broken.map((v) => [variantLabel(v), v.sizeBytes ? mb(v.sizeBytes) : "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", `broken: ${v.broken!.replaceAll("|", "\\|")}`]),
    ],
  );
  // The verdict reads the paired differences: on a shared machine two medians taken minutes
  // apart can differ by more than the flags do, two runs in the same round cannot. A gain
  // counts when its whole interval is below zero and it is larger than the control's "gain".
  const control = rows.find((r) => r.variant.control)!;
  const bar = Math.max(CLEAR_GAIN_MS, Math.abs(control.pingVsCurrent));
  const best = rows.filter((r) => !r.variant.control).reduce((a, b) => (b.pingVsCurrent < a.pingVsCurrent ? b : a));
  const clearlyFaster = !isCurrent(best.variant) && best.pingVsCurrentCi[1] < 0 && -best.pingVsCurrent > bar;
  const controlNote = `(the A/A control, the same binary again, came out at ${signedMs(control.pingVsCurrent)}, faster in ${Math.round(control.pingFasterShare * 100)}% of rounds)`;
  const verdict = clearlyFaster
    ? `Fastest working \`ping\`: ${variantLabel(best.variant)}, ${signedMs(best.pingVsCurrent)} against the current flags (paired median; 95% CI ${signedMs(best.pingVsCurrentCi[0])} to ${signedMs(best.pingVsCurrentCi[1])}), faster in ${Math.round(best.pingFasterShare * 100)}% of rounds ${controlNote}. Confirm with a second run before changing build.ts.`
    : `No working combination is clearly faster than the current flags (${label([CURRENT])}) in \`ping\`: none has a paired median gain above ${bar.toFixed(1)} ms with its whole 95% interval below zero ${controlNote}. Keep them. Current \`ping\` ${ms(median(currentMeasured.ping))} median, ${ratio(median(currentMeasured.ping), noop.median)} the do-nothing binary.`;
  const cores = availableParallelism();
  const markdown = [
    `# unitsync compile flags: cold start per flag combination`,
    ``,
    `${new Date().toISOString()}, ${version}, Bun ${Bun.version}, ${process.platform}-${process.arch}, ${cores} cores; ${ROUNDS} shuffled rounds after ${WARMUP} warm-up rounds, wall time spawn to exit. Rows name src/main.ts unless they say otherwise; sorted by "\`ping\` vs current (paired median)": the median over rounds of this variant's time minus the current build's in the same round, with a 95% interval from resampling the rounds; "rounds \`ping\` beat current" counts those rounds. The A/A control is a copy of the current binary: its row is what no difference looks like in this run. Peak RSS: median of ${RSS_ROUNDS} runs under GNU time (of the do-nothing binary itself in its row)${TIME ? "" : ", not measured: no /usr/bin/time"}. CPU: user + system time of \`ping\`, median.`,
    ``,
    table,
    ``,
    verdict,
    ``,
  ].join("\n");
  const json = {
    date: new Date().toISOString(),
    version,
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
    cores,
    rounds: ROUNDS,
    warmup: WARMUP,
    noop_ms: { ...noop, samples: results.noop, max_rss_bytes: results.noopRss },
    variants: rows.map((r) => ({
      flags: r.variant.flags,
      current: isCurrent(r.variant),
      control: r.variant.control ?? false,
      size_bytes: r.variant.sizeBytes,
      version_ms: { ...r.version, samples: r.variant.version },
      ping_ms: { ...r.ping, samples: r.variant.ping },
      ping_vs_current_ms: r.pingVsCurrent,
      ping_vs_current_ci95_ms: r.pingVsCurrentCi,
      ping_faster_than_current_share: r.pingFasterShare,
      version_vs_current_ms: r.versionVsCurrent,
      ping_max_rss_bytes: r.variant.pingRss,
      ping_cpu_ms: r.variant.pingCpu,
    })),
    broken: broken.map((v) => ({ flags: v.flags, error: v.broken })),
  };
  return { markdown, json };
}
