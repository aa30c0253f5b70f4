/**
 * Section 2, chain overhead: N no-op units in a line (u2 wants u1, u3 wants u2, ...), one
 * script per unit, all launched at once, as a workspace's start-up scripts are. What each
 * link costs: the wall time of the whole chain divided by its length, for unitsync and for
 * the same chain waited on by the two 1-second pollers, and for the one-process `run` form;
 * each unitsync form beside its floor, the same scripts running a do-nothing compiled Bun
 * binary in place of each unitsync call.
 */
import { join } from "node:path";
import { compile } from "../build.ts";
import { expectSuccess, markdownTable, ms, progress, shuffle, spawn, summarize, times, within, type SectionReport, type Suite } from "./lib.ts";

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
export async function measureChains(suite: Suite, without: readonly string[] = []): Promise<ChainTrial[]> {
  progress("compiling the do-nothing binary for the chain floors");
  const noop = join(suite.dir, "chain-noop");
  await compile(join(import.meta.dir, "noop.ts"), noop);
  const chainers = (Object.keys(CHAINERS) as Chainer[]).filter((chainer) => !without.includes(chainer));
  const schedule = shuffle(
    chainers.flatMap((chainer) => CHAIN_LENGTHS.flatMap((length) => Array.from({ length: CHAINERS[chainer].trials[length] }, () => ({ chainer, length })))),
  );
  const trials: ChainTrial[] = [];
  for (const [n, { chainer, length }] of schedule.entries()) {
    progress(`chain trial ${n + 1}/${schedule.length} (${chainer}, ${length} links)`);
    trials.push({ chainer, length, wall: await chainTrial(suite, noop, chainer, length, `chain-${chainer}-${length}-${n}`) });
  }
  return trials;
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

export function reportChains(trials: ChainTrial[]): SectionReport {
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
  const markdown = [
    `## 2. Chain overhead: N units in a line, all scripts launched at once, wall time per link`,
    ``,
    markdownTable(["links", "waiter", "trials", "chain median", "per link median", "per link p99", "median vs unitsync", "p99 vs unitsync", "median vs its floor"], rows),
    ``,
    `The pollers get fewer trials at long chains (${CHAIN_LENGTHS.map((l) => `${l} link${l === 1 ? "" : "s"}: ${CHAINERS.coder.trials[l]}`).join(", ")}),` +
      ` to keep the run near 10 minutes: with two trials, p99 is the slower one.`,
  ].join("\n");
  const json = Object.fromEntries(
    chainers.map((chainer) => [
      chainer,
      Object.fromEntries(
        CHAIN_LENGTHS.map((length) => [length, { per_link_ms: perLink(chainer, length), walls: trials.filter((t) => t.chainer === chainer && t.length === length).map((t) => t.wall) }]),
      ),
    ]),
  );
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
  return { markdown, json, targets };
}
