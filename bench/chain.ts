/**
 * Section 2, chain overhead: N no-op units in a line (u2 wants u1, u3 wants u2, ...), one
 * script per unit, all launched at once, as a workspace's start-up scripts are. What each
 * link costs: the wall time of the whole chain divided by its length, for unitsync and for
 * the same chain waited on by the two 1-second pollers, and for the one-process `run` form;
 * each unitsync form beside its floor, the same scripts running a do-nothing compiled Bun
 * binary in place of each unitsync call. Then the hand-off alone: every script but the first
 * already waiting, as in a workspace whose scripts start long before their dependencies end,
 * the time from the first link's spawn to the last exit, per link, beside its own floor.
 */
import { join } from "node:path";
import { compile } from "../build.ts";
import { apiOk, expectSuccess, markdownTable, ms, progress, shuffle, spawn, summarize, times, within, type Child, type SectionReport, type Suite } from "./lib.ts";

export const CHAIN_LENGTHS = [1, 5, 20, 50] as const;
type Length = (typeof CHAIN_LENGTHS)[number];

type Chainer = "unitsync" | "unitsync-floor" | "run" | "run-floor" | "coder" | "marker";

// A poller's chain takes about half a second per link (a second when a link's check just
// missed its dependency, nothing when it came just after), so 50 links are 25 to 50 s:
// the pollers get fewer trials at long chains to keep the run near 10 minutes.
const CHAINERS: Record<Chainer, { label: string; trials: Record<Length, number> }> = {
  unitsync: { label: "unitsync want + start + complete", trials: { 1: 10, 5: 10, 20: 6, 50: 5 } },
  "unitsync-floor": { label: "floor of the three calls: a do-nothing binary run as often", trials: { 1: 10, 5: 10, 20: 6, 50: 5 } },
  run: { label: "unitsync run uK --after uK-1 -- true", trials: { 1: 10, 5: 10, 20: 6, 50: 5 } },
  "run-floor": { label: "floor of run: a do-nothing binary, then true", trials: { 1: 10, 5: 10, 20: 6, 50: 5 } },
  coder: { label: "Coder-style poll every 1 s", trials: { 1: 5, 5: 3, 20: 2, 50: 2 } },
  marker: { label: "marker file loop, 1 s sleeps", trials: { 1: 5, 5: 3, 20: 2, 50: 2 } },
};

// One link of a chain; the first link has no dependency. Each command's output goes to the
// bench's pipes, as a start-up script's goes to its log.
const UNITSYNC_LINK = `
bin=$1 unit=$2 dependency=$3
if [ -n "$dependency" ]; then "$bin" want "$unit" "$dependency" || exit; fi
"$bin" start "$unit" --timeout 2m || exit
"$bin" complete "$unit"`;

// The floor of UNITSYNC_LINK: as many processes of a do-nothing compiled Bun binary, in the same order.
const UNITSYNC_FLOOR_LINK = `
noop=$1 unit=$2 dependency=$3
if [ -n "$dependency" ]; then "$noop" || exit; fi
"$noop" || exit
"$noop"`;

// One process per link: run declares the dependency, waits, runs the command and completes the unit.
const RUN_LINK = `
bin=$1 unit=$2 dependency=$3
exec "$bin" run "$unit" \${dependency:+--after "$dependency"} --timeout 2m -- true`;

// The floor of RUN_LINK: the do-nothing binary, then the command.
const RUN_FLOOR_LINK = `
noop=$1 unit=$2 dependency=$3
"$noop" || exit
exec true`;

// What a script does with Coder's `exp sync`: want, then start, which checks the unit's
// readiness once a second before it starts the unit, then complete.
const CODER_LINK = `
bin=$1 unit=$2 dependency=$3
if [ -n "$dependency" ]; then "$bin" want "$unit" "$dependency" || exit; fi
ready() { "$bin" status "$unit" -o json | grep -q '"is_ready": *true'; }
until ready; do sleep 1; done
"$bin" start "$unit" || exit
"$bin" complete "$unit"`;

const MARKER_LINK = `
previous=$1 mine=$2
if [ -n "$previous" ]; then while [ ! -f "$previous" ]; do sleep 1; done; fi
touch "$mine"`;

// The hand-off: links 2..N are spawned and seen waiting first; then link 1 is spawned. The
// floors (handoff-floor.ts, compiled in the run) wait in a Bun process already running, as
// `start` and `run` wait, woken through a FIFO that the previous link writes. The three-call
// floor: that process wakes and exits (as \`start\` does), then the script runs a do-nothing
// binary in place of \`complete\` and writes the next FIFO. The \`run\` floor: the process
// wakes, spawns /bin/true as run spawns its command, writes the next FIFO and exits.
const HANDOFF_FLOOR_LINK = `
noop=$1 waiter=$2 previous=$3 mine=$4
"$waiter" "$previous" "" || exit
"$noop" || exit
if [ -n "$mine" ]; then echo go > "$mine"; fi`;

/** The hand-off's chain length: long enough that link 1's own start-up is a small share. */
export const HANDOFF_LENGTH = 50;
const HANDOFF_TRIALS = 6;

type Handoff = "unitsync" | "unitsync-floor" | "run" | "run-floor";

const HANDOFFS: Record<Handoff, string> = {
  unitsync: "unitsync want + start + complete: start wakes, complete is spawned",
  "unitsync-floor": "floor: a waiting Bun process wakes and exits, a do-nothing binary is spawned",
  run: "unitsync run: run wakes, spawns true, completes",
  "run-floor": "floor: a waiting Bun process wakes, spawns true, wakes the next",
};

/** The compiled baselines: the do-nothing binary, and the waiting process of the hand-off floors. */
interface Floors {
  noop: string;
  waiter: string;
}

export interface HandoffTrial {
  handoff: Handoff;
  /** From link 1's spawn (every other link waiting) to the last script's exit, ms. */
  wall: number;
}

export interface ChainTrials {
  /** Every script spawned at once. */
  allAtOnce: ChainTrial[];
  /** Every script but the first waiting before the first is spawned. */
  handoffs: HandoffTrial[];
}

export interface ChainTrial {
  chainer: Chainer;
  length: Length;
  /** From the first script's spawn to the last script's exit, ms. */
  wall: number;
}

/**
 * Every (chainer, length) trial, shuffled together, each on fresh unit names. `without`
 * leaves out chainers (`--no-pollers` in run.ts: the pollers take most of the section's time).
 */
export async function measureChains(suite: Suite, without: readonly string[] = []): Promise<ChainTrials> {
  progress("compiling the do-nothing binary for the chain floors");
  const noop = join(suite.dir, "chain-noop");
  await compile(join(import.meta.dir, "noop.ts"), noop);
  const waiter = join(suite.dir, "chain-handoff-floor");
  await compile(join(import.meta.dir, "handoff-floor.ts"), waiter);
  const chainers = (Object.keys(CHAINERS) as Chainer[]).filter((chainer) => !without.includes(chainer));
  const schedule = shuffle(
    chainers.flatMap((chainer) => CHAIN_LENGTHS.flatMap((length) => Array.from({ length: CHAINERS[chainer].trials[length] }, () => ({ chainer, length })))),
  );
  const trials: ChainTrial[] = [];
  for (const [n, { chainer, length }] of schedule.entries()) {
    progress(`chain trial ${n + 1}/${schedule.length} (${chainer}, ${length} links)`);
    trials.push({ chainer, length, wall: await chainTrial(suite, noop, chainer, length, `chain-${chainer}-${length}-${n}`) });
  }
  const handoffSchedule = shuffle((Object.keys(HANDOFFS) as Handoff[]).flatMap((handoff) => Array.from({ length: HANDOFF_TRIALS }, () => handoff)));
  const handoffs: HandoffTrial[] = [];
  for (const [n, handoff] of handoffSchedule.entries()) {
    progress(`chain hand-off trial ${n + 1}/${handoffSchedule.length} (${handoff}, ${HANDOFF_LENGTH} links)`);
    handoffs.push({ handoff, wall: await handoffTrial(suite, { noop, waiter }, handoff, `handoff-${handoff}-${n}`) });
  }
  return { allAtOnce: trials, handoffs };
}

/**
 * One hand-off trial: spawns links 2..N, waits until each is seen waiting (in the server's
 * unit list for unitsync, by its "waiting" line for a floor), then spawns link 1 and returns
 * the time from that spawn to the last exit.
 */
export async function handoffTrial({ binary, dir, env, socketPath }: Suite, { noop, waiter }: Floors, handoff: Handoff, prefix: string): Promise<number> {
  const length = HANDOFF_LENGTH;
  const floor = handoff.endsWith("-floor");
  const unit = (k: number) => (k < 1 ? "" : `${prefix}-u${k}`);
  const fifo = (k: number) => (k < 1 || k === length ? "" : join(dir, `${prefix}-${k}.fifo`));
  if (floor) {
    const made = Bun.spawnSync(["mkfifo", ...Array.from({ length: length - 1 }, (_, i) => fifo(i + 1))]);
    if (made.exitCode !== 0) throw new Error(`mkfifo: ${made.stderr.toString()}`);
  }
  const link = (k: number): Child => {
    if (handoff === "unitsync") return spawn(["bash", "-c", UNITSYNC_LINK, "handoff-link", binary, unit(k), unit(k - 1)], env);
    if (handoff === "run") return spawn(["bash", "-c", RUN_LINK, "handoff-link", binary, unit(k), unit(k - 1)], env);
    // Link 1 waits for nothing: its floor starts the waiting process too (as link 1 starts its `start`).
    if (handoff === "run-floor") return spawn([waiter, fifo(k - 1), fifo(k), "/bin/true"], env);
    return spawn(["bash", "-c", HANDOFF_FLOOR_LINK, "handoff-link", noop, waiter, fifo(k - 1), fifo(k)], env);
  };
  const waiting = shuffle(Array.from({ length: length - 1 }, (_, k) => k + 2)).map(link);
  if (floor) await within(Promise.all(waiting.map((script) => script.stdout.until("waiting", 60_000))), 60_000, `${prefix} waiting`);
  else await waitUntilWaiting(socketPath, Array.from({ length: length - 1 }, (_, k) => unit(k + 2)), prefix);
  const startedAt = performance.now();
  const first = link(1);
  const scripts = [first, ...waiting];
  const exits = await within(Promise.all(scripts.map((s) => s.exitedAt)), 150_000, `end of the ${handoff} hand-off chain ${prefix}`);
  for (const script of scripts) await expectSuccess(script, `${handoff} link of ${prefix}`);
  return Math.max(...exits) - startedAt;
}

/** Resolves once every unit named has asked to start (its start is waiting on the server). */
async function waitUntilWaiting(socketPath: string, units: string[], prefix: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  const wanted = new Set(units);
  for (;;) {
    const list = JSON.parse(await apiOk(socketPath, "GET", "/units")) as { unit_name: string; start_requested_at?: string }[];
    const asked = list.filter((entry) => wanted.has(entry.unit_name) && entry.start_requested_at !== undefined).length;
    if (asked === wanted.size) return;
    if (performance.now() > deadline) throw new Error(`${prefix}: only ${asked} of ${wanted.size} links waiting after 60 s`);
    await Bun.sleep(20);
  }
}

/**
 * Spawns the scripts of one chain in a shuffled order, in one synchronous loop: which
 * script happens to start first changes where each poller's 1-s cycle falls, so no
 * order is favoured. Returns the wall time in ms.
 */
async function chainTrial({ binary, dir, env }: Suite, noop: string, chainer: Chainer, length: Length, prefix: string): Promise<number> {
  const unit = (k: number) => (k < 1 ? "" : chainer === "marker" ? join(dir, `${prefix}-u${k}.done`) : `${prefix}-u${k}`);
  const order = shuffle(Array.from({ length }, (_, k) => k + 1));
  const startedAt = performance.now();
  const links: Record<Exclude<Chainer, "marker">, [string, string]> = {
    unitsync: [UNITSYNC_LINK, binary],
    "unitsync-floor": [UNITSYNC_FLOOR_LINK, noop],
    run: [RUN_LINK, binary],
    "run-floor": [RUN_FLOOR_LINK, noop],
    coder: [CODER_LINK, binary],
  };
  const scripts = order.map((k) => {
    if (chainer === "marker") return spawn(["bash", "-c", MARKER_LINK, "marker-link", unit(k - 1), unit(k)], env);
    const [script, program] = links[chainer];
    return spawn(["bash", "-c", script, `${chainer}-link`, program, unit(k), unit(k - 1)], env);
  });
  const exits = await within(Promise.all(scripts.map((s) => s.exitedAt)), 150_000, `end of the ${chainer} chain ${prefix}`);
  for (const [i, script] of scripts.entries()) await expectSuccess(script, `${chainer} link ${order[i]} of ${prefix}`);
  return Math.max(...exits) - startedAt;
}

/** Each unitsync form's floor: the same scripts with a do-nothing binary for each unitsync process. */
const FLOORS: Partial<Record<Chainer, Chainer>> = { unitsync: "unitsync-floor", run: "run-floor" };

export function reportChains({ allAtOnce: trials, handoffs }: ChainTrials): SectionReport {
  const chainers = (Object.keys(CHAINERS) as Chainer[]).filter((chainer) => trials.some((t) => t.chainer === chainer));
  const perLink = (chainer: Chainer, length: Length) =>
    summarize(trials.filter((t) => t.chainer === chainer && t.length === length).map((t) => t.wall / length));
  const rows = CHAIN_LENGTHS.flatMap((length) => {
    const ours = perLink("unitsync", length);
    return chainers.map((chainer) => {
      const s = perLink(chainer, length);
      const chain = s.median * length;
      const floor = FLOORS[chainer];
      const vsFloor = floor ? times(s.median / perLink(floor, length).median) : "";
      return [String(length), CHAINERS[chainer].label, String(s.n), chain < 10_000 ? ms(chain) : `${(chain / 1000).toFixed(1)} s`, ms(s.median), ms(s.p99), times(s.median / ours.median), times(s.p99 / ours.p99), vsFloor];
    });
  });
  const handoffPerLink = (handoff: Handoff) =>
    summarize(handoffs.filter((t) => t.handoff === handoff).map((t) => t.wall / (HANDOFF_LENGTH - 1)));
  const handoffRows = (Object.keys(HANDOFFS) as Handoff[])
    .filter((handoff) => handoffs.some((t) => t.handoff === handoff))
    .map((handoff) => {
      const s = handoffPerLink(handoff);
      const floor = handoff.endsWith("-floor") ? undefined : handoffPerLink(`${handoff}-floor` as Handoff);
      return [HANDOFFS[handoff], String(s.n), ms(s.median * (HANDOFF_LENGTH - 1)), ms(s.median), ms(s.p99), floor ? times(s.median / floor.median) : "", floor ? ms(s.median - floor.median) : ""];
    });
  const markdown = [
    `## 2. Chain overhead: N units in a line, all scripts launched at once, wall time per link`,
    ``,
    markdownTable(["links", "waiter", "trials", "chain median", "per link median", "per link p99", "median vs unitsync", "p99 vs unitsync", "median vs its floor"], rows),
    ``,
    `The pollers get fewer trials at long chains (${CHAIN_LENGTHS.map((l) => `${l} link${l === 1 ? "" : "s"}: ${CHAINERS.coder.trials[l]}`).join(", ")}),` +
      ` to keep the run near 10 minutes: with two trials, p99 is the slower one.`,
    ``,
    `### Hand-off once every script waits: ${HANDOFF_LENGTH} links, links 2..${HANDOFF_LENGTH} waiting before link 1 is spawned`,
    ``,
    `From link 1's spawn to the last exit, divided by the ${HANDOFF_LENGTH - 1} hand-offs: what each link adds to a start-up whose scripts started long before their dependencies ended.`,
    ``,
    markdownTable(["form", "trials", "chain median", "per hand-off median", "per hand-off p99", "vs its floor", "above its floor"], handoffRows),
  ].join("\n");
  const chainsJson = Object.fromEntries(
    chainers.map((chainer) => [
      chainer,
      Object.fromEntries(
        CHAIN_LENGTHS.map((length) => [length, { per_link_ms: perLink(chainer, length), walls: trials.filter((t) => t.chainer === chainer && t.length === length).map((t) => t.wall) }]),
      ),
    ]),
  );
  const json = {
    ...chainsJson,
    handoff: Object.fromEntries(
      (Object.keys(HANDOFFS) as Handoff[]).map((handoff) => [
        handoff,
        { links: HANDOFF_LENGTH, per_link_ms: handoffPerLink(handoff), walls: handoffs.filter((t) => t.handoff === handoff).map((t) => t.wall) },
      ]),
    ),
  };
  const longest = CHAIN_LENGTHS.at(-1)!;
  const three = perLink("unitsync", longest);
  const threeFloor = perLink("unitsync-floor", longest);
  const run = perLink("run", longest);
  const targets = [
    {
      target: `chain of ${longest}, want + start + complete: per link <= 1.2x its floor (median)`,
      measured: `${times(three.median / threeFloor.median)} (${ms(three.median)} against ${ms(threeFloor.median)})`,
      pass: three.median <= 1.2 * threeFloor.median,
    },
    { target: `chain of ${longest}, one \`run\` per link: per link < 6 ms (median)`, measured: ms(run.median), pass: run.median < 6 },
  ];
  if (handoffs.length > 0) {
    const three = handoffPerLink("unitsync");
    const threeFloor = handoffPerLink("unitsync-floor");
    const run = handoffPerLink("run");
    targets.push(
      {
        target: `hand-off, ${HANDOFF_LENGTH} links waiting, want + start + complete: per link <= 1.2x its floor (median)`,
        measured: `${times(three.median / threeFloor.median)} (${ms(three.median)} against ${ms(threeFloor.median)})`,
        pass: three.median <= 1.2 * threeFloor.median,
      },
      {
        target: `hand-off, ${HANDOFF_LENGTH} links waiting, one \`run\` per link: per link < 6 ms (median)`,
        measured: `${ms(run.median)} (its floor ${ms(handoffPerLink("run-floor").median)})`,
        pass: run.median < 6,
      },
    );
  }
  return { markdown, json, targets };
}
