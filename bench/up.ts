/**
 * The overhead of `unitsync up` over the ideal start-up (issue 5): for the example
 * workspace, the wall time of `up` minus the sum of the run times of the units on its
 * critical path, which is what the scripts themselves must spend one after another.
 * The overhead is split by where it falls (before the first unit of the critical path
 * starts, between its units, after the last one ends), and set against `up` running a
 * single script `true`, measured in the same run: up's fixed cost. Runs of both kinds
 * are shuffled together. Usage: `bun run bench/up.ts [binary]`.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  expectSuccess,
  killAll,
  markdownTable,
  ms,
  onAnyExit,
  progress,
  shuffle,
  spawn,
  summarize,
  within,
  writeReport,
  type Child,
  type Output,
  type Summary,
} from "./lib.ts";

const ROOT = join(import.meta.dir, "..");
const BINARY = resolve(process.argv[2] ?? join(ROOT, "dist", "unitsync"));
const WORKSPACE = join(ROOT, "examples", "workspace");

const TRIALS = 15;
const WARMUP = 2;
/** Issue 5: wall time minus the critical path's run times, median. */
const TARGET_MS = 100;
/** A start-up that takes longer than this is stuck, not slow: fail instead of hanging. */
const UP_LIMIT_MS = 60_000;

type Kind = "workspace" | "trivial";

const KINDS: Record<Kind, string> = {
  workspace: "`unitsync up examples/workspace`",
  trivial: "`unitsync up` on one script `true` (baseline: up's fixed cost)",
};

/** One link of the critical path as `up` prints it, in ms of the server's clock. */
interface Link {
  unit: string;
  /** When it started, from the first unit's registration (the timeline's zero). */
  at: number;
  waited: number;
  ran: number;
}

/** Milliseconds on the bench's clock from the spawn of `up`, and the parts they make up. */
interface Trial {
  kind: Kind;
  wall: number;
  /** Spawn to up's "N scripts, server on" line: runtime start-up and the private server. */
  upStartUp: number;
  /** Up's "all scripts ended" line (scripts reaped, timeline read) to its exit: summary, SVG, server stop. */
  report: number;
  /** The rest, only for the workspace. */
  workspace?: WorkspaceParts;
}

interface WorkspaceParts {
  criticalPath: string;
  links: Link[];
  /** Sum of the critical path's run times: the ideal. */
  ideal: number;
  overhead: number;
  /** (a) spawn to the first unit of the critical path started. */
  beforeFirst: number;
  /** Part of (a): up's "server on" line to the first unit registered (scripts spawned, their first call). */
  toFirstRegistration: number;
  /** Part of (a): first registration to the first unit of the critical path started. */
  registrationToFirst: number;
  /** (b) on the critical path, time that is no unit's run: last end - first start - sum of runs. */
  between: number;
  /** (c) last unit of the critical path ended to up's exit. */
  afterLast: number;
  /** Part of (c): to the "all scripts ended" line (last scripts exit, groups stopped, timeline read). */
  lastToAllEnded: number;
  /** The server's first event (`registered <unit>`); if it could not be read, up's "server on" line stands for it and (a) is a lower bound. */
  firstEvent: string | undefined;
}

const dir = mkdtempSync(join(tmpdir(), "unitsync-bench-up-"));
onAnyExit(() => {
  killAll();
  rmSync(dir, { recursive: true, force: true });
});
const env: Record<string, string> = { ...(process.env as Record<string, string>), NO_COLOR: "1" };
// up is given its socket by flag; a server from the caller's environment has no part in this.
delete env.UNITSYNC_SOCKET_PATH;

try {
  const trivial = join(dir, "trivial");
  mkdirSync(trivial);
  writeFileSync(join(trivial, "true.sh"), "#!/bin/sh\ntrue\n");
  chmodSync(join(trivial, "true.sh"), 0o755);
  const workspaces: Record<Kind, string> = { workspace: WORKSPACE, trivial };

  const warmUp = Array.from({ length: WARMUP }, () => ["workspace", "trivial"] as Kind[]).flat();
  for (const [n, kind] of warmUp.entries()) {
    progress(`warm-up ${n + 1}/${warmUp.length} (${kind})`);
    await runUp(kind, workspaces[kind], n);
  }
  const schedule = shuffle((Object.keys(KINDS) as Kind[]).flatMap((kind) => Array<Kind>(TRIALS).fill(kind)));
  const trials: Trial[] = [];
  for (const [n, kind] of schedule.entries()) {
    progress(`run ${n + 1}/${schedule.length} (${kind})`);
    trials.push(await runUp(kind, workspaces[kind], warmUp.length + n));
  }

  const report = await buildReport(trials);
  await writeReport("up", report);
} finally {
  killAll();
  rmSync(dir, { recursive: true, force: true });
}

/**
 * One `up --timeline`, spawn to exit, in an example directory of its own. `up` is given a
 * socket path so that the bench can read the server's first event (the timeline's zero)
 * while it runs; it disconnects at once, so the server is not followed any longer.
 */
async function runUp(kind: Kind, workspace: string, trial: number): Promise<Trial> {
  const exampleDir = mkdtempSync(join(dir, "example-"));
  const svg = join(exampleDir, "t.svg");
  const socketPath = join(dir, `up-${trial}.sock`);
  const spawnedAt = performance.now();
  const child = spawn([BINARY, "up", "--timeline", svg, "--socket-path", socketPath, workspace], {
    ...env,
    UNITSYNC_EXAMPLE_DIR: exampleDir,
  });
  const firstEvent = kind === "workspace" ? firstEventOf(child, socketPath) : Promise.resolve(undefined);
  const exitedAt = await within(child.exitedAt, UP_LIMIT_MS, `exit of up (${kind})`);
  await expectSuccess(child, `unitsync up ${workspace}`);
  const [stdout] = await Promise.all([child.stdout.done, child.stderr.done]);
  if (!existsSync(svg)) throw new Error(`up did not save the timeline to ${svg}:\n${stdout}`);
  rmSync(exampleDir, { recursive: true, force: true });

  const since = (at: number) => at - spawnedAt;
  const wall = since(exitedAt);
  const serverOn = since(arrivalOf(child.stdout, /^up +│ \d+ scripts?, server (?:\(pid \d+\) )?on /));
  const allEnded = since(arrivalOf(child.stdout, /^up +│ all scripts ended after /));
  const result: Trial = { kind, wall, upStartUp: serverOn, report: wall - allEnded };
  if (kind === "trivial") return result;

  const { links, end } = parseCriticalPath(stdout);
  const first = links[0]!;
  const ideal = links.reduce((sum, link) => sum + link.ran, 0);
  const registered = await firstEvent;
  // The timeline's zero, on the bench's clock; without the event, up's "server on" line.
  const origin = registered === undefined ? serverOn : since(registered.at);
  const lastEnded = origin + end;
  result.workspace = {
    criticalPath: links.map((link) => link.unit).join(" -> "),
    links,
    ideal,
    overhead: wall - ideal,
    beforeFirst: origin + first.at,
    toFirstRegistration: origin - serverOn,
    registrationToFirst: first.at,
    between: end - first.at - ideal,
    afterLast: wall - lastEnded,
    lastToAllEnded: allEnded - lastEnded,
    firstEvent: registered?.what,
  };
  return result;
}

interface FirstEvent {
  /** performance.now() of this process. */
  at: number;
  /** `registered <unit>`. */
  what: string;
}

/**
 * When the server logged its first event (the first unit registered, the timeline's zero),
 * on this process's clock: the event's wall-clock time (whole ms), which up's clock and ours
 * agree on to well under a millisecond. Undefined if it could not be read.
 */
async function firstEventOf(child: Child, socketPath: string): Promise<FirstEvent | undefined> {
  const abort = new AbortController();
  // A start-up that registered nothing must not keep a follower that would hold up's shutdown.
  void child.stdout.until("all scripts ended", UP_LIMIT_MS).then(
    () => abort.abort(),
    () => abort.abort(),
  );
  try {
    await child.stdout.until("scripts, server");
    const response = await fetch("http://unitsync/v1/events?follow=1&after=0", {
      unix: socketPath,
      signal: abort.signal,
      timeout: false,
    } as RequestInit);
    if (!response.ok || !response.body) return undefined;
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      text += decoder.decode(chunk, { stream: true });
      const newline = text.indexOf("\n");
      if (newline < 0) continue;
      const event = JSON.parse(text.slice(0, newline)) as { time?: string; unit?: string; type?: string };
      if (event.time === undefined) return undefined;
      return { at: Date.parse(event.time) - performance.timeOrigin, what: `${event.type} ${event.unit}` };
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    abort.abort();
  }
}

/**
 * The "Critical path:" block of up's text timeline:
 *   Critical path: git-clone -> install-deps -> ai-agent
 *     git-clone     @8ms      ran 390ms
 *     install-deps  @398ms    waited 395ms, ran 418ms
 *     ai-agent ended at 840ms
 */
function parseCriticalPath(stdout: string): { links: Link[]; end: number } {
  const lines = stdout.split("\n");
  const header = lines.findIndex((line) => line.startsWith("Critical path: "));
  if (header < 0) throw new Error(`no "Critical path:" in up's output:\n${stdout}`);
  const links: Link[] = [];
  for (const line of lines.slice(header + 1)) {
    const ended = /^ {2}\S+ ended at (\S+)$/.exec(line);
    if (ended) {
      if (links.length === 0) throw new Error(`a critical path without links:\n${stdout}`);
      return { links, end: parseShownDuration(ended[1]!) };
    }
    const link = /^ {2}(\S+) +@(\S+) +(.*)$/.exec(line);
    if (!link) throw new Error(`unexpected line in the critical path: ${JSON.stringify(line)}`);
    const waited = /waited (\S+?)(,|$)/.exec(link[3]!)?.[1];
    const ran = /ran (\S+?)(,|$)/.exec(link[3]!)?.[1];
    if (ran === undefined) throw new Error(`a link of the critical path that did not run: ${JSON.stringify(line)}`);
    links.push({
      unit: link[1]!,
      at: parseShownDuration(link[2]!),
      waited: waited === undefined ? 0 : parseShownDuration(waited),
      ran: parseShownDuration(ran),
    });
  }
  throw new Error(`the critical path has no "ended at" line:\n${stdout}`);
}

/** Reads back up's `formatDuration`: `850ms`, `1.25s`, `12.3s`, `2m05s`, `1h02m` (so 1 ms, then 10 ms, steps). */
function parseShownDuration(text: string): number {
  const forms: [RegExp, (m: RegExpExecArray) => number][] = [
    [/^(\d+)ms$/, (m) => Number(m[1])],
    [/^(\d+(?:\.\d+)?)s$/, (m) => Number(m[1]) * 1_000],
    [/^(\d+)m(\d+)s$/, (m) => (Number(m[1]) * 60 + Number(m[2])) * 1_000],
    [/^(\d+)h(\d+)m$/, (m) => (Number(m[1]) * 60 + Number(m[2])) * 60_000],
  ];
  for (const [form, value] of forms) {
    const match = form.exec(text);
    if (match) return value(match);
  }
  throw new Error(`not a duration up prints: ${JSON.stringify(text)}`);
}

/** performance.now() when the first line matching `pattern` had arrived whole. */
function arrivalOf(output: Output, pattern: RegExp): number {
  let text = "";
  for (const chunk of output.chunks) {
    text += chunk.text;
    const whole = text.slice(0, text.lastIndexOf("\n") + 1);
    if (whole.split("\n").some((line) => pattern.test(line))) return chunk.at;
  }
  throw new Error(`no line matching ${pattern} in:\n${output.text}`);
}

async function buildReport(trials: Trial[]) {
  const child = spawn([BINARY, "--version"], env);
  await expectSuccess(child, `${BINARY} --version`);
  const version = (await child.stdout.done).trim();
  const of = (kind: Kind) => trials.filter((t) => t.kind === kind);
  const parts = of("workspace").map((t) => t.workspace!);
  const workspace = of("workspace");
  const trivial = of("trivial");
  const row = (label: string, samples: number[]) => ({ label, summary: summarize(samples) });
  const rows = [
    row(`wall time of ${KINDS.workspace}, spawn to exit`, workspace.map((t) => t.wall)),
    row("ideal: sum of the critical path's run times", parts.map((p) => p.ideal)),
    row("**overhead** = wall time - ideal", parts.map((p) => p.overhead)),
    row("(a) spawn -> first unit of the critical path started", parts.map((p) => p.beforeFirst)),
    row("&nbsp;&nbsp;of which up's start-up: spawn -> \"server on\" line", workspace.map((t) => t.upStartUp)),
    row("&nbsp;&nbsp;of which scripts spawned, their first call: -> first unit registered", parts.map((p) => p.toFirstRegistration)),
    row("&nbsp;&nbsp;of which -> first unit of the critical path started", parts.map((p) => p.registrationToFirst)),
    row("(b) between the critical path's units: last end - first start - runs", parts.map((p) => p.between)),
    row("(c) last unit of the critical path ended -> up exits", parts.map((p) => p.afterLast)),
    row("&nbsp;&nbsp;of which scripts exit, groups stopped, timeline read: -> \"all scripts ended\" line", parts.map((p) => p.lastToAllEnded)),
    row("&nbsp;&nbsp;of which summary, timeline, SVG, server stop: -> exit", workspace.map((t) => t.report)),
    row(`wall time of ${KINDS.trivial}`, trivial.map((t) => t.wall)),
    row("&nbsp;&nbsp;of which up's start-up: spawn -> \"server on\" line", trivial.map((t) => t.upStartUp)),
    row("&nbsp;&nbsp;of which summary, timeline, SVG, server stop: -> exit", trivial.map((t) => t.report)),
  ];
  const overhead = summarize(parts.map((p) => p.overhead));
  const fixed = summarize(trivial.map((t) => t.wall));
  const pass = overhead.median < TARGET_MS;
  const paths = new Map<string, number>();
  for (const p of parts) paths.set(p.criticalPath, (paths.get(p.criticalPath) ?? 0) + 1);
  const unanchored = parts.filter((p) => p.firstEvent === undefined).length;
  const firstEvents = new Map<string, number>();
  for (const p of parts) if (p.firstEvent) firstEvents.set(p.firstEvent, (firstEvents.get(p.firstEvent) ?? 0) + 1);
  const counted = (counts: Map<string, number>) => [...counts].map(([what, n]) => `${what} (${n})`).join(", ");
  const cores = availableParallelism();
  const markdown = [
    `# unitsync up: overhead over the ideal start-up`,
    ``,
    `${new Date().toISOString()}, ${version}, Bun ${Bun.version}, ${process.platform}-${process.arch}, ${cores} cores`,
    ``,
    `${TRIALS} runs of each kind after ${WARMUP} warm-ups each, shuffled together; nearest-rank p99 (the maximum here).`,
    `Medians of the parts do not add up to the median of the whole. Critical paths seen: ${counted(paths)}; the server's first event: ${counted(firstEvents)}.`,
    unanchored === 0 ? "" : `In ${unanchored} run(s) the server's first event could not be read: there (a) is a lower bound.`,
    ``,
    markdownTable(
      ["figure", "runs", "median", "p99", "min", "max"],
      rows.map(({ label, summary: s }) => [label, String(s.n), ms(s.median), ms(s.p99), ms(s.min), ms(s.max)]),
    ),
    ``,
    markdownTable(
      ["target", "measured", "result"],
      [
        [
          `overhead of \`up\` over the ideal, median < ${TARGET_MS} ms`,
          `${ms(overhead.median)} (p99 ${ms(overhead.p99)}; up's fixed cost ${ms(fixed.median)})`,
          pass ? "pass" : "**FAIL**",
        ],
      ],
    ),
    ``,
  ]
    .filter((line, i, all) => !(line === "" && all[i - 1] === ""))
    .join("\n");
  const json = {
    date: new Date().toISOString(),
    version,
    binary: BINARY,
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
    cores,
    target_ms: TARGET_MS,
    pass,
    rows: rows.map(({ label, summary }) => ({ label: label.replace(/&nbsp;/g, ""), ...summary }) as { label: string } & Summary),
    trials,
  };
  return { markdown, json };
}
