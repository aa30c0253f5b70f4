// Randomized model test: thousands of random want/start/complete/fail requests from
// concurrent clients against a real in-process server, checked against the reference model
// in _model.ts (written from the README, not from src/graph).
//
// Why the check is sound under concurrency. A run is a series of rounds. A round sends 1 to
// 6 requests at once, each on its own connection, and waits until every one has answered (a
// start has answered once its first line, `waiting` or final, arrived; a waiting start then
// stays open across rounds). The server runs each request's graph call atomically on one
// thread and logs every effect of it (registration, edges, status changes, the waiting starts
// it wakes, the failures it propagates) as numbered events before answering. So, after a
// round, the events since the previous round are exactly the effects of that round's
// requests, in the server's order, and nothing else (no time-outs: every start waits for
// ever). The checker searches the orders of the round's requests (memoized, at most 6!) for
// one in which replaying them one by one on the model gives each request the answer it got
// and splits the new events into contiguous segments, one per request, each equal as a
// multiset to that request's effects in the model. A refusal (cycle, conflict, wrong state)
// leaves no event, but must still be the model's answer at its place in the order. No such
// order means the server is wrong or not atomic. Between rounds nothing runs, so the server's
// whole state (GET /v1/units, GET /v1/graph, its waiting starts) must equal the model's;
// each start the model released must get its final line (started, or an error with its
// code and, for dependency_failed, the reason chain), and no start the model says still
// waits may have ended. Abandoning a waiting start (closing its connection) is a request of
// its round too: it has answered once the server dropped the waiter, and it may sit anywhere
// in the order, since the server notices the closed connection at some moment of the round.
//
// Not covered: start time-outs (timer-driven, so not caused by any request of a round) and
// progress lines (progress_ms 0). A seed replays the same choices; which order the server
// takes a round's requests in may differ from run to run, and the failure message prints
// the order it took, round by round, as a sequential repro.
import { expect, test } from "bun:test";
import { UnitsyncClient } from "../../src/client/index.ts";
import { UnitsyncError, type EventEntry } from "../../src/protocol/index.ts";
import type { RunningServer } from "../../src/server/index.ts";
import { testServer, waitUntil, withoutTimes } from "../helpers.ts";
import { holdStart, type RawConnection } from "../raw-http.ts";
import { answerMatches, eventKey, Model, type Answer, type FinalLine, type Op, type Release, type Requirement } from "./_model.ts";
import { Random } from "./_fuzz.ts";

const SEED_VARIABLE = "UNITSYNC_MODEL_SEED";
const RUNS = Number(process.env.UNITSYNC_MODEL_RUNS ?? 200);
const ROUNDS = 25;
const MAX_REQUESTS_PER_ROUND = 6;
const FILE = "test/server/model.test.ts";
const REQUIREMENTS: readonly Requirement[] = ["success", "success", "success", "completion", "started"];

/** A start request whose first line was `waiting`: its connection stays open. */
interface Held {
  holder: number;
  unit: string;
  connection: RawConnection;
  state: "waiting" | "ended" | "abandoned";
}

interface LoggedEvent {
  key: string;
  entry: EventEntry;
}

interface Linearization {
  model: Model;
  order: number[];
  releases: Release[];
}

function describeOp(op: Op): string {
  switch (op.kind) {
    case "want":
      return `want ${op.unit} [${op.dependencies.join(", ")}] --requires ${op.requires}`;
    case "start":
      return `start ${op.unit} (#${op.holder})`;
    case "complete":
      return `complete ${op.unit}`;
    case "fail":
      return `fail ${op.unit} --reason ${JSON.stringify(op.reason)}`;
    case "list":
      return "list";
    case "abandon":
      return `abandon start #${op.holder}`;
  }
}

function describeAnswer(answer: Answer | undefined): string {
  if (answer === undefined) return "(no answer)";
  if ("error" in answer) return `refused: ${answer.error}`;
  if ("waiting" in answer) return `waiting for [${answer.waiting.join(", ")}]`;
  if ("started" in answer) return "started at once";
  return "ok";
}

/**
 * A round of requests. Most take a random unit one step along a start-up script's life
 * (declare, start, complete or fail, retry), or help a waiting unit by taking one of its
 * missing dependencies a step, so that waits and wake-ups are common. Dependencies mostly
 * point to earlier names; the rest of the requests go to any name, so that refusals,
 * conflicts and cycles (self-dependencies included) stay common too.
 */
function generateRound(random: Random, names: string[], model: Model, nextHolder: () => number, nextReason: () => string): Op[] {
  const waiting = model.waiting();
  const waitingUnits = new Set(waiting.map((w) => w.unit));
  const abandoning = new Set<number>();
  const start = (unit: string): Op => ({ kind: "start", unit, holder: nextHolder() });
  const end = (unit: string): Op => (random.below(6) === 0 ? { kind: "fail", unit, reason: nextReason() } : { kind: "complete", unit });
  const want = (unit: string): Op => {
    const earlier = names.slice(0, names.indexOf(unit));
    if (earlier.length === 0 && random.below(10) > 0) return start(unit);
    const dependencies = Array.from({ length: random.pick([1, 1, 1, 2, 2, 3]) }, () =>
      earlier.length > 0 && random.below(10) > 0 ? random.pick(earlier) : random.pick(names),
    );
    // Mostly one requirement per unit: a conflicting redeclaration is tried, but not all the time.
    const usual = REQUIREMENTS[(names.indexOf(unit) * 3) % REQUIREMENTS.length]!;
    return { kind: "want", unit, dependencies, requires: random.below(10) === 0 ? random.pick(REQUIREMENTS) : usual };
  };
  const step = (unit: string, depth: number): Op => {
    const status = model.statusOf(unit);
    if (status === undefined) return random.below(5) === 0 ? start(unit) : want(unit);
    if (status === "pending" && waitingUnits.has(unit)) {
      const missing = model.unsatisfiedOf(unit);
      return depth < 4 && missing.length > 0 && random.below(8) > 0 ? step(random.pick(missing), depth + 1) : end(unit);
    }
    if (status === "pending") return random.below(3) === 0 ? want(unit) : start(unit);
    if (status === "started") return end(unit);
    if (status === "failed") return random.below(4) > 0 ? start(unit) : want(unit);
    return depth < 4 && random.below(3) > 0 ? step(random.pick(names), depth + 1) : want(unit);
  };
  const ops: Op[] = [];
  const count = 1 + random.below(MAX_REQUESTS_PER_ROUND);
  for (let i = 0; i < count; i++) {
    const unit = random.pick(names);
    const roll = random.below(100);
    const abandonable = waiting.filter((w) => !abandoning.has(w.holder));
    const which = random.below(1_000);
    if (roll < 75) ops.push(step(unit, 0));
    else if (roll < 82) ops.push(want(unit));
    else if (roll < 86) ops.push(start(unit));
    else if (roll < 90) ops.push(end(unit));
    else if (roll < 96 || abandonable.length === 0) ops.push({ kind: "list" });
    else {
      const { holder } = abandonable[which % abandonable.length]!;
      abandoning.add(holder);
      ops.push({ kind: "abandon", holder });
    }
  }
  return ops;
}

async function answerOf(request: Promise<unknown>): Promise<Answer> {
  try {
    return { ok: await request };
  } catch (error) {
    if (error instanceof UnitsyncError) return { error: error.code };
    throw error;
  }
}

/** Sends one request and resolves with its answer; a start resolves on its first line. */
async function send(op: Op, server: RunningServer, client: UnitsyncClient, held: Map<number, Held>): Promise<Answer> {
  switch (op.kind) {
    case "want":
      return answerOf(client.want(op.unit, op.dependencies, op.requires));
    case "complete":
      return answerOf(client.complete(op.unit));
    case "fail":
      return answerOf(client.fail(op.unit, op.reason));
    case "list":
      return { ok: withoutTimes(await client.listUnits()) };
    case "abandon": {
      const target = held.get(op.holder)!;
      target.state = "abandoned";
      target.connection.close();
      const script = `#${op.holder}`;
      await waitUntil(() => !server.view.waitingStarts().some((w) => w.script === script), 10_000, `the server to drop start ${script}`);
      return { ok: null };
    }
    case "start": {
      const body = { timeout_ms: 0, progress_ms: 0, script: `#${op.holder}` };
      const connection = await holdStart(server.socketPath, op.unit, body);
      const first = connection.lines[0] as {
        type?: string;
        error?: { code: string };
        unsatisfied: string[];
        dependencies: string[];
        waited_for: string[];
      };
      if (connection.answer!.status !== 200 || first.type === "error") return { error: first.error!.code };
      if (first.type === "waiting") {
        held.set(op.holder, { holder: op.holder, unit: op.unit, connection, state: "waiting" });
        return { waiting: first.unsatisfied };
      }
      connection.close();
      return { started: { dependencies: first.dependencies, waited_for: first.waited_for } };
    }
  }
}

/**
 * Every order of the round's requests that the model accepts (one per distinct outcome):
 * each answer matches, and the events split into one contiguous segment per request, equal
 * to its effects. When there is none, `closest` says where the longest attempt broke down.
 */
function linearize(start: Model, ops: Op[], answers: Answer[], events: LoggedEvent[]): { found: Linearization[]; closest: string } {
  const found: Linearization[] = [];
  let closest = { depth: -1, text: "" };
  // Requests that commute (refusals, reads) reach the same place by many orders: visit it once.
  const visited = new Set<string>();
  const explore = (model: Model, remaining: number[], cursor: number, order: number[], releases: Release[]) => {
    const place = `${remaining.join(",")} ${cursor} ${model.key()} ${JSON.stringify(releases)}`;
    if (visited.has(place)) return;
    visited.add(place);
    if (remaining.length === 0) {
      if (cursor === events.length) found.push({ model, order, releases });
      else if (order.length > closest.depth) {
        const left = events.slice(cursor).map((e) => e.key);
        closest = { depth: order.length, text: `order [${order}] leaves events unexplained: ${left.join("; ")}` };
      }
      return;
    }
    for (const index of remaining) {
      const next = model.clone();
      const step = next.apply(ops[index]!);
      const why = explain(next, step, answers[index]!, events.slice(cursor, cursor + step.effects.length));
      if (why !== undefined) {
        if (order.length >= closest.depth) {
          closest = { depth: order.length, text: `after order [${order}], request [${index}] ${describeOp(ops[index]!)}: ${why}` };
        }
        continue;
      }
      const ended = step.releases.map((release): Release => {
        if (release.line.type !== "error" || release.line.code !== "dependency_failed") return release;
        return { ...release, line: { ...release.line, message: `${release.unit}: ${next.reasonOf(release.unit)}` } };
      });
      const rest = remaining.filter((other) => other !== index);
      explore(next, rest, cursor + step.effects.length, [...order, index], [...releases, ...ended]);
    }
  };
  explore(start, ops.map((_, index) => index), 0, [], []);
  return { found, closest: closest.text };
}

/**
 * Why `step` does not explain `answer` and the events of `segment`, or undefined when it
 * does; takes the server's reason for each propagated failure into `model`, once checked.
 */
function explain(model: Model, step: ReturnType<Model["apply"]>, answer: Answer, segment: LoggedEvent[]): string | undefined {
  if (!answerMatches(step.prediction, answer)) {
    return `answered ${JSON.stringify(answer)}, the model says ${JSON.stringify(step.prediction)}`;
  }
  const expected = [...step.effects].sort();
  const actual = segment.map((event) => event.key).sort();
  if (!Bun.deepEquals(expected, actual)) return `events [${actual.join("; ")}], the model says [${expected.join("; ")}]`;
  const propagated = segment
    .filter((event) => event.key.endsWith("->failed propagated"))
    .map(({ entry }) => ({ unit: entry.unit, reason: reasonOf(entry) }));
  for (const { unit, reason } of propagated) model.adoptReason(unit, reason);
  for (const { unit, reason } of propagated) {
    const allowed = model.propagatedReasons(unit);
    if (!allowed.includes(reason)) {
      return `${unit} failed with reason ${JSON.stringify(reason)}, not one of ${JSON.stringify(allowed)}`;
    }
  }
  return undefined;
}

function reasonOf(entry: EventEntry): string {
  return entry.type === "status_changed" ? (entry.reason ?? "") : "";
}

const byName = <T extends { unit_name: string }>(a: T, b: T) => (a.unit_name < b.unit_name ? -1 : 1);

/** What the server holds between rounds, in the model's shapes. */
async function snapshotOf(server: RunningServer, client: UnitsyncClient) {
  const [units, graph] = await Promise.all([client.listUnits(), client.graph()]);
  return {
    units: withoutTimes(units),
    graph: {
      units: [...graph.units].sort(byName).map((u) => (u.reason === undefined ? { unit_name: u.unit_name, status: u.status } : u)),
      edges: [...graph.edges].sort((a, b) => (`${a.unit_name} ${a.depends_on}` < `${b.unit_name} ${b.depends_on}` ? -1 : 1)),
    },
    waiting: server.view
      .waitingStarts()
      .map((w) => ({ unit: w.unit, script: w.script }))
      .sort((a, b) => (a.unit < b.unit ? -1 : 1)),
  };
}

function expectedSnapshot(model: Model): Awaited<ReturnType<typeof snapshotOf>> {
  return {
    units: model.list(),
    graph: model.graph(),
    waiting: model.waiting().map((w) => ({ unit: w.unit, script: `#${w.holder}` })),
  };
}

function isAcyclic(edges: Array<{ unit_name: string; depends_on: string }>): boolean {
  const next = new Map<string, string[]>();
  for (const edge of edges) next.set(edge.unit_name, [...(next.get(edge.unit_name) ?? []), edge.depends_on]);
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string): boolean => {
    if (state.get(name) === "done") return true;
    if (state.get(name) === "visiting") return false;
    state.set(name, "visiting");
    const acyclic = (next.get(name) ?? []).every(visit);
    state.set(name, "done");
    return acyclic;
  };
  return [...next.keys()].every(visit);
}

function finalLineMatches(expected: FinalLine, line: unknown): boolean {
  if (expected.type === "started") {
    // The model knows no trace ids: the span's traceparent is checked for its form only.
    const { traceparent, ...rest } = line as { traceparent?: string };
    return /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(traceparent ?? "") && Bun.deepEquals(rest, expected, true);
  }
  const actual = line as { type?: string; error?: { code?: string; message?: string } };
  if (actual.type !== "error" || actual.error?.code !== expected.code) return false;
  return expected.message === undefined || actual.error.message === expected.message;
}

function isWaitingLine(line: unknown): boolean {
  return (line as { type?: string }).type === "waiting";
}

interface Stats {
  runs: number;
  rounds: number;
  requests: number;
  /** Rounds the server took in another order than the requests were sent. */
  reordered: number;
  refused: Record<string, number>;
  selfCycles: number;
  waited: number;
  released: number;
  releasedThroughCompletion: number;
  releasedThroughStarted: number;
  dependencyFailed: number;
  endedElsewhere: number;
  propagatedFailures: number;
  /** Propagated failures three or more edges from the first failure, whose reason elides the middle. */
  deepFailures: number;
  retries: number;
  rearmed: number;
  abandoned: number;
  stillWaitingAtEnd: number;
}

function emptyStats(): Stats {
  return {
    runs: 0,
    rounds: 0,
    requests: 0,
    reordered: 0,
    refused: {},
    selfCycles: 0,
    waited: 0,
    released: 0,
    releasedThroughCompletion: 0,
    releasedThroughStarted: 0,
    dependencyFailed: 0,
    endedElsewhere: 0,
    propagatedFailures: 0,
    deepFailures: 0,
    retries: 0,
    rearmed: 0,
    abandoned: 0,
    stillWaitingAtEnd: 0,
  };
}

function count(stats: Stats, ops: Op[], answers: Answer[], events: LoggedEvent[], chosen: Linearization): void {
  stats.rounds++;
  stats.requests += ops.length;
  if (chosen.order.some((index, position) => index !== position)) stats.reordered++;
  ops.forEach((op, i) => {
    const answer = answers[i]!;
    if ("error" in answer) stats.refused[`${op.kind} ${answer.error}`] = (stats.refused[`${op.kind} ${answer.error}`] ?? 0) + 1;
    if ("error" in answer && answer.error === "cycle" && op.kind === "want" && op.dependencies.includes(op.unit)) stats.selfCycles++;
    if ("waiting" in answer) stats.waited++;
    if (op.kind === "abandon") stats.abandoned++;
    if (op.kind === "start" && events.some((e) => e.key === `${op.unit} failed->pending`)) stats.retries++;
  });
  for (const { key, entry } of events) {
    if (key.endsWith("->failed propagated")) stats.propagatedFailures++;
    if (key.endsWith("->failed propagated") && / more failed dependenc/.test(reasonOf(entry))) stats.deepFailures++;
    if (key.endsWith(" failed->pending")) stats.rearmed++;
  }
  const edges = chosen.model.graph().edges;
  for (const { unit, line } of chosen.releases) {
    if (line.type === "started") {
      stats.released++;
      if (edges.some((e) => e.unit_name === unit && e.requires === "completion")) stats.releasedThroughCompletion++;
      if (edges.some((e) => e.unit_name === unit && e.requires === "started")) stats.releasedThroughStarted++;
    } else if (line.code === "dependency_failed") stats.dependencyFailed++;
    else stats.endedElsewhere++;
  }
}

/** One run: a fresh server, a seeded series of rounds, every check after every round. */
async function runModel(seed: number, stats: Stats): Promise<void> {
  const random = new Random(seed);
  await using server = await testServer();
  const client = new UnitsyncClient(server.socketPath);
  const names = Array.from({ length: 6 + random.below(7) }, (_, i) => String.fromCharCode(97 + i));
  const held = new Map<number, Held>();
  const history: string[] = [];
  let model = new Model();
  let lastSeq = 0;
  let holders = 0;
  let reasons = 0;
  stats.runs++;

  const report = (round: number, what: string, details: string[]): never => {
    throw new Error(
      [
        `model test seed ${seed}, round ${round}: ${what}`,
        `re-run with ${SEED_VARIABLE}=${seed} npx bun test ${FILE}`,
        ...details,
        "the rounds so far, each in the order the server took it:",
        ...history.map((line) => `  ${line}`),
      ].join("\n"),
    );
  };

  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const ops = generateRound(random, names, model, () => ++holders, () => (random.below(5) === 0 ? "" : `r${++reasons}`));
      const yields = ops.map(() => random.below(3));
      const answers = await Promise.all(
        ops.map(async (op, index) => {
          // A turn or two of the event loop before some requests varies the order the server sees.
          for (let i = 0; i < yields[index]!; i++) await new Promise((resolve) => setImmediate(resolve));
          return send(op, server, client, held);
        }),
      );
      // No lock is taken here: every entry is a unit's.
      const entries = (await client.events(lastSeq)) as EventEntry[];
      const events = entries.map((entry) => ({ key: eventKey(entry), entry }));
      const details = () => [
        "requests of this round, as sent:",
        ...ops.map((op, i) => `  [${i}] ${describeOp(op)} -> ${describeAnswer(answers[i])} ${JSON.stringify(answers[i])}`),
        "events of this round:",
        ...events.map(({ key, entry }) => `  ${entry.seq}: ${key}${key.endsWith("propagated") ? ` (${JSON.stringify(reasonOf(entry))})` : ""}`),
        `model before the round: ${JSON.stringify(model.list())}, waiting ${JSON.stringify(model.waiting())}`,
      ];
      entries.forEach((entry, i) => {
        if (entry.seq !== lastSeq + 1 + i) report(round, `event numbers jump from ${lastSeq + i} to ${entry.seq}`, details());
      });
      lastSeq += entries.length;

      const { found, closest } = linearize(model, ops, answers, events);
      if (found.length === 0) {
        report(round, "no order of this round's requests explains what the server did", [...details(), `closest: ${closest}`]);
      }
      const snapshot = await snapshotOf(server, client);
      const chosen = found.find((candidate) => Bun.deepEquals(expectedSnapshot(candidate.model), snapshot, true));
      if (chosen === undefined) {
        report(round, "the server's state differs from the model's", [
          ...details(),
          `server: ${JSON.stringify(snapshot)}`,
          `model:  ${JSON.stringify(expectedSnapshot(found[0]!.model))}`,
        ]);
      }
      if (!isAcyclic(snapshot.graph.edges)) {
        report(round, "the server's graph has a cycle", [...details(), JSON.stringify(snapshot.graph.edges)]);
      }
      const { order, releases } = chosen!;
      const taken = order.map((i) => `${describeOp(ops[i]!)} -> ${describeAnswer(answers[i])}`);
      const ended = releases.map((r) => `#${r.holder} (${r.unit}) ${r.line.type === "error" ? r.line.code : "started"}`);
      history.push(`round ${round}: ${taken.join(" | ")}${ended.length === 0 ? "" : ` || ended: ${ended.join(", ")}`}`);

      for (const release of releases) {
        const target = held.get(release.holder)!;
        if (target.state === "abandoned") continue;
        try {
          await target.connection.waitFor((c) => c.answer?.complete === true, `the last line of start #${release.holder}`, 5_000);
        } catch (error) {
          const expected = JSON.stringify(release.line);
          report(round, `lost wake-up: start #${release.holder} of ${release.unit} should have ended with ${expected}`, [
            ...details(),
            String(error),
          ]);
        }
        const lines = target.connection.lines;
        if (!finalLineMatches(release.line, lines.at(-1)) || !lines.slice(0, -1).every(isWaitingLine)) {
          const what = `ended with ${JSON.stringify(lines.at(-1))}, expected ${JSON.stringify(release.line)}`;
          report(round, `start #${release.holder} of ${release.unit} ${what}`, [
            ...details(),
            `all its lines: ${JSON.stringify(lines)}`,
          ]);
        }
        target.state = "ended";
      }
      for (const target of held.values()) {
        if (target.state !== "waiting") continue;
        if (target.connection.answer?.complete || !target.connection.lines.every(isWaitingLine)) {
          report(round, `start #${target.holder} of ${target.unit} ended while the model says it still waits`, [
            ...details(),
            `its lines: ${JSON.stringify(target.connection.lines)}`,
          ]);
        }
      }
      model = chosen!.model;
      count(stats, ops, answers, events, chosen!);
    }
    stats.stillWaitingAtEnd += model.waiting().length;
  } finally {
    for (const target of held.values()) target.connection.close();
  }
}

function seeds(): number[] {
  const pinned = process.env[SEED_VARIABLE];
  if (pinned !== undefined && pinned !== "") {
    if (!/^\d+$/.test(pinned)) throw new Error(`${SEED_VARIABLE} must be a whole number, not ${JSON.stringify(pinned)}`);
    return [Number(pinned)];
  }
  return Array.from({ length: RUNS }, (_, i) => 1 + i);
}

test(
  "concurrent want/start/complete/fail agree with the reference model",
  async () => {
    const stats = emptyStats();
    for (const seed of seeds()) await runModel(seed, stats);
    if (process.env.UNITSYNC_MODEL_STATS) console.error(JSON.stringify(stats));
    if (seeds().length === 1) return;
    // The generator must keep reaching every behaviour it is meant to test.
    const reached = {
      cycles: (stats.refused["want cycle"] ?? 0) > 0,
      selfCycles: stats.selfCycles > 0,
      conflicts: (stats.refused["want conflict"] ?? 0) > 0,
      released: stats.released > 0,
      releasedThroughCompletion: stats.releasedThroughCompletion > 0,
      releasedThroughStarted: stats.releasedThroughStarted > 0,
      dependencyFailed: stats.dependencyFailed > 0,
      deepFailures: stats.deepFailures > 0,
      retries: stats.retries > 0,
      rearmedDownstream: stats.rearmed > stats.retries,
      abandoned: stats.abandoned > 0,
    };
    expect(reached).toEqual(Object.fromEntries(Object.keys(reached).map((key) => [key, true])) as typeof reached);
  },
  Math.max(60_000, seeds().length * 500),
);
