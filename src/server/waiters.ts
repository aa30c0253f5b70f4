import { quote, type GraphChange, type UnitGraph } from "../graph/index.ts";
import { LONGEST_TIMER_MS, UnitsyncError, type LockWait, type StartLine, type WaitDetail } from "../protocol/index.ts";
import type { LineSink } from "./http.ts";
import { whoIs } from "./lock-holds.ts";
import { claimantOf, type LockClaim, type LockTable } from "./locks.ts";

/**
 * Where a start's lines go: the streaming HTTP response, or anything else that carries
 * lines. A gone client must never be reported as started.
 */
export type StartSink = Pick<LineSink<StartLine>, "write" | "end" | "gone">;

/** How one start waits, and who asked: a supervisor such as `up` uses `pid` and `script`. */
export interface StartOptions {
  timeoutMs: number;
  progressMs?: number;
  /** The client process, as it said itself; only meaningful on the same host, which a Unix socket is. */
  pid?: number;
  /** The start-up script the client runs in, from its UNITSYNC_SCRIPT. */
  script?: string;
  /** A lock to hold once the dependencies are satisfied; the unit starts when it holds it. */
  lock?: string;
  /**
   * The client waited for this start on a server that went away: if that server (whose
   * journal this one recovered) started the unit before its answer got out, it is the client's.
   */
  resume?: boolean;
}

/** A start that waits right now, as a supervisor sees it. */
export interface WaitingStart {
  unit: string;
  pid: number | undefined;
  script: string | undefined;
}

interface Waiter extends WaitingStart {
  sink: StartSink;
  /** Dependencies unsatisfied at the first check: the list the final line reports. */
  waitedFor: string[];
  /** The last unsatisfied list sent, so a new `want` is reported only when it adds one. */
  reported: string[];
  /** One timer for whichever comes first, the next reminder or the time-out: a timer costs about 0.5 KiB. */
  timer: ReturnType<typeof setTimeout> | undefined;
  since: number;
  /** When the next reminder is due (Infinity: none), and how often they come. */
  remindAt: number;
  remindEvery: number;
  /** When the start times out (Infinity: never). */
  deadline: number;
  /** The line that ends this start at the next settle, when its own unit changed under it. */
  outcome?: StartLine;
  lock: string | undefined;
  /** The claim on `lock`: in its queue while the start waits, held once the unit started. */
  claim?: LockClaim;
}

/** Concurrent waiting starts allowed by default: far above any workspace, far below trouble. */
export const DEFAULT_MAX_WAITING = 10_000;

/** How often a waiting start hears what it still waits for, unless it asks otherwise. */
export const DEFAULT_PROGRESS_MS = 30_000;


/**
 * Pending `start` requests, each woken by graph changes rather than by polling.
 * The readiness check and the subscription happen in one synchronous step, so no
 * change can slip between them: there are no lost wake-ups.
 *
 * A change marks the waiters it concerns and `settle` wakes them just after the current
 * request is answered (or sooner, when something reads the state): the `complete` that
 * releases a thousand waiters is answered first, then they are. Everything that reads or
 * changes the server's state settles first, so nobody sees a waiter that should have moved.
 */
export class StartWaiters {
  private readonly byUnit = new Map<string, Waiter>();
  /** Waiters a change concerns, to recheck (or end, with their `outcome`) at the next settle. */
  private readonly marked = new Set<Waiter>();
  private settleScheduled = false;
  private readonly observers = new Set<() => void>();
  /** Which script started each unit, for those whose start said. */
  private readonly starters = new Map<string, string>();
  /** Started units holding a lock until their client goes: ended at shutdown. */
  private readonly holding = new Set<Waiter>();

  constructor(
    private readonly graph: UnitGraph,
    /** Starts allowed to wait at once: each holds a connection and a little memory. */
    private readonly maxWaiting = DEFAULT_MAX_WAITING,
    /** The W3C traceparent of a unit's span, handed to the client that starts it. */
    private readonly traceparentOf?: (unit: string) => string,
    /** Where starts that ask for a lock take it; without one such a start is refused. */
    private readonly locks?: LockTable,
  ) {
    graph.subscribe((change) => this.onChange(change));
  }

  /** Calls `observer` after a start begins waiting or stops waiting; returns the unsubscribe. */
  observe(observer: () => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** The starts waiting right now. */
  waiting(): WaitingStart[] {
    return [...this.byUnit.values()].map(({ unit, pid, script }) => ({ unit, pid, script }));
  }

  /** The script that last asked to start `unit` (whether or not it could), when it said. */
  starterOf(unit: string): string | undefined {
    return this.starters.get(unit);
  }

  /** How many starts are waiting right now. */
  get size(): number {
    return this.byUnit.size;
  }

  /**
   * Starts `unit` at once when it is ready, otherwise writes a `waiting` line and keeps
   * the sink until the unit starts or the time-out passes. Throws, writing nothing, when
   * the unit cannot start at all. Returns the function to call when the client goes away.
   */
  begin(unit: string, sink: StartSink, options: StartOptions): () => void {
    const { timeoutMs, progressMs = DEFAULT_PROGRESS_MS, pid, script, lock } = options;
    if (lock !== undefined && !this.locks) throw new UnitsyncError("bad_request", "this server holds no locks");
    if (options.resume && this.graph.statusOf(unit) === "started" && !this.byUnit.has(unit)) {
      sink.write(this.startedLine(unit, []));
      sink.end();
      return () => {};
    }
    this.graph.register(unit);
    if (this.byUnit.has(unit)) {
      throw new UnitsyncError("conflict", `another client is already waiting to start unit ${quote(unit)}`);
    }
    if (this.byUnit.size >= this.maxWaiting && !this.graph.isReady(unit)) {
      throw new UnitsyncError(
        "limit_exceeded",
        `${this.byUnit.size} starts are already waiting, the most this server allows; unit ${quote(unit)} cannot wait too`,
      );
    }
    // Recorded even when the start is refused: the script still owns the unit.
    if (script !== undefined) this.starters.set(unit, script);
    const unsatisfied = this.graph.requestStart(unit, script);
    if (unsatisfied.length === 0 && lock === undefined) {
      this.graph.start(unit);
      sink.write(this.startedLine(unit, []));
      sink.end();
      return () => {};
    }
    const since = performance.now();
    // A reminder, not a poll: it only tells the client what the graph says right now.
    const remindEvery = progressMs > 0 ? Math.min(progressMs, LONGEST_TIMER_MS) : Number.POSITIVE_INFINITY;
    const waiter: Waiter = {
      unit,
      pid,
      script,
      sink,
      waitedFor: unsatisfied,
      reported: unsatisfied,
      timer: undefined,
      since,
      remindAt: since + remindEvery,
      remindEvery,
      deadline: timeoutMs > 0 ? since + Math.min(timeoutMs, LONGEST_TIMER_MS) : Number.POSITIVE_INFINITY,
      lock,
    };
    this.byUnit.set(unit, waiter);
    if (unsatisfied.length > 0) sink.write({ type: "waiting", unsatisfied, details: this.detailsOf(unit) });
    this.schedule(waiter);
    if (unsatisfied.length === 0) this.takeLock(waiter);
    this.notify();
    return () => {
      this.drop(waiter);
      this.letGo(waiter);
    };
  }

  /** Ends every waiting start with `line`, e.g. when the server shuts down, and every start holding a lock. */
  endAll(line: StartLine): void {
    this.marked.clear();
    for (const waiter of [...this.byUnit.values()]) this.finish(waiter, line);
    for (const waiter of [...this.holding]) {
      this.letGo(waiter);
      waiter.sink.end();
    }
  }

  /** A ready start that asks for a lock joins its queue, and starts when it holds it. */
  private takeLock(waiter: Waiter): void {
    const locks = this.locks!;
    const claim = locks.request(waiter.lock!, { pid: waiter.pid, script: waiter.script, unit: waiter.unit }, () => this.lockGranted(waiter));
    waiter.claim = claim;
    if (locks.holds(claim)) {
      if (!this.lockGranted(waiter)) locks.withdraw(claim);
      return;
    }
    waiter.sink.write({ type: "waiting", unsatisfied: [], details: [], lock: this.lockWaitOf(waiter)! });
  }

  /** Where a start queued for its lock stands: who holds it, and its place in line. */
  private lockWaitOf(waiter: Waiter): LockWait | undefined {
    const claim = waiter.claim;
    const holder = claim && this.locks!.holderOf(claim.lock);
    const position = claim && this.locks!.positionOf(claim);
    if (!holder || position === undefined) return undefined;
    return { lock: claim.lock, held_by: claimantOf(holder), position };
  }

  /** The lock came: start the unit, unless its client left or a dependency was added meanwhile. */
  private lockGranted(waiter: Waiter): boolean {
    if (waiter.sink.gone || this.byUnit.get(waiter.unit) !== waiter) return false;
    const unsatisfied = this.graph.unsatisfiedOf(waiter.unit);
    if (unsatisfied.length > 0) {
      // Declined: the lock goes to the next in line, and this start asks again once ready.
      waiter.claim = undefined;
      waiter.reported = unsatisfied;
      waiter.sink.write({ type: "waiting", unsatisfied, details: this.detailsOf(waiter.unit) });
      return false;
    }
    // Holding first: leaving the waiters must not give the lock back.
    this.holding.add(waiter);
    this.drop(waiter);
    this.graph.start(waiter.unit);
    waiter.sink.write({ ...this.startedLine(waiter.unit, waiter.waitedFor), lock: waiter.lock });
    // The answer stays open: the lock is held until the client closes it.
    return true;
  }

  /** Gives up the start's lock claim, held or queued. */
  private letGo(waiter: Waiter): void {
    this.holding.delete(waiter);
    if (waiter.claim) this.locks!.withdraw(waiter.claim);
    waiter.claim = undefined;
  }

  private onChange(change: GraphChange): void {
    // Who asked, also as a journal is replayed: a restarted server still knows.
    if (change.type === "start_requested" && change.by !== undefined) this.starters.set(change.unit, change.by);
    if (change.type === "first_declared") {
      // Every unit that now waits for it implicitly: one pass over its dependents.
      for (const dependent of this.graph.dependentsOf(change.unit)) {
        const waiter = this.byUnit.get(dependent);
        if (waiter) this.mark(waiter);
      }
      return;
    }
    if (change.type === "dependencies_added" || change.type === "dependencies_removed") {
      const waiter = this.byUnit.get(change.unit);
      if (waiter) this.mark(waiter);
      return;
    }
    if (change.type !== "status_changed") return;
    const own = this.byUnit.get(change.unit);
    if (own) {
      const error = change.propagated
        ? { code: "dependency_failed" as const, message: `${change.unit}: ${change.reason}` }
        : {
            code: "wrong_state" as const,
            message: `unit ${quote(change.unit)} became ${change.to} through another client while this start waited`,
          };
      own.outcome ??= { type: "error", error };
      this.mark(own);
    }
    for (const dependent of this.graph.dependentsOf(change.unit)) {
      const waiter = this.byUnit.get(dependent);
      if (waiter) this.mark(waiter);
    }
  }

  private mark(waiter: Waiter): void {
    this.marked.add(waiter);
    if (this.settleScheduled) return;
    this.settleScheduled = true;
    setImmediate(() => this.settle());
  }

  /**
   * Wakes, answers or ends every waiter a change concerned since the last settle, including
   * those that the starts made here concern in turn. Idempotent and cheap when nothing is marked.
   */
  settle(): void {
    this.settleScheduled = false;
    // A Set visits what is added while it is walked: a start below that concerns another
    // waiter is settled in this same call.
    for (const waiter of this.marked) {
      this.marked.delete(waiter);
      if (this.byUnit.get(waiter.unit) !== waiter) continue;
      if (waiter.outcome) this.finish(waiter, waiter.outcome);
      else this.recheck(waiter);
    }
  }

  private recheck(waiter: Waiter): void {
    if (waiter.sink.gone) {
      this.drop(waiter);
      return;
    }
    // In a lock's queue: whether it may start is checked again when the lock comes.
    if (waiter.claim) return;
    const unsatisfied = this.graph.unsatisfiedOf(waiter.unit);
    if (unsatisfied.length === 0 && waiter.lock !== undefined) {
      this.takeLock(waiter);
      return;
    }
    if (unsatisfied.length === 0) {
      // Leave the map first: the start below emits a change for this very unit.
      this.drop(waiter);
      this.graph.start(waiter.unit);
      waiter.sink.write(this.startedLine(waiter.unit, waiter.waitedFor));
      waiter.sink.end();
      return;
    }
    if (unsatisfied.some((name) => !waiter.reported.includes(name))) {
      waiter.reported = unsatisfied;
      waiter.sink.write({ type: "waiting", unsatisfied, details: this.detailsOf(waiter.unit) });
    }
  }

  /** Sets the waiter's one timer for its next reminder or its time-out, whichever is sooner. */
  private schedule(waiter: Waiter): void {
    const at = Math.min(waiter.remindAt, waiter.deadline);
    if (at === Number.POSITIVE_INFINITY) return;
    waiter.timer = setTimeout(this.onTimer, Math.max(0, at - performance.now()), waiter);
  }

  /** The waiter's timer fired: its time-out, or a reminder and the next timer. */
  private readonly onTimer = (waiter: Waiter): void => {
    // Which one the timer was set for, not the clock: a timer may fire a fraction of a millisecond early.
    if (waiter.deadline <= waiter.remindAt) {
      const queued = waiter.claim && this.locks?.holderOf(waiter.claim.lock);
      const message = queued
        ? `timeout waiting for lock ${quote(waiter.claim!.lock)} for unit '${waiter.unit}', held by ${whoIs(queued)}`
        : `timeout waiting for dependencies of unit '${waiter.unit}'`;
      this.finish(waiter, { type: "error", error: { code: "timeout", message } });
      return;
    }
    waiter.remindAt += waiter.remindEvery;
    this.remind(waiter);
    if (this.byUnit.get(waiter.unit) === waiter) this.schedule(waiter);
  };

  private remind(waiter: Waiter): void {
    // A change may have released it since: that comes first, and then there is nothing to remind.
    this.settle();
    if (this.byUnit.get(waiter.unit) !== waiter) return;
    if (waiter.sink.gone) {
      this.drop(waiter);
      return;
    }
    const lock = this.lockWaitOf(waiter);
    waiter.sink.write({
      type: "progress",
      unsatisfied: this.graph.unsatisfiedOf(waiter.unit),
      details: this.detailsOf(waiter.unit),
      waited_ms: Math.round(performance.now() - waiter.since),
      ...(lock && { lock }),
    });
  }

  /** What `unit` still waits for, with a likely meant name for each dependency nobody registered. */
  detailsOf(unit: string): WaitDetail[] {
    const details: WaitDetail[] = [];
    for (const dependency of this.graph.dependenciesOf(unit)) {
      if (dependency.satisfied) continue;
      const name = dependency.dependsOn;
      const detail: WaitDetail = {
        depends_on: name,
        requires: dependency.requires,
        current_status: dependency.currentStatus ?? "not registered",
      };
      if (dependency.currentStatus === undefined) {
        const suggestion = this.graph.suggestionFor(name, unit);
        if (suggestion !== undefined) detail.did_you_mean = suggestion;
      } else if (dependency.currentStatus === "pending") {
        const waitingFor = this.graph.unsatisfiedOf(name);
        if (waitingFor.length > 0) detail.waiting_for = waitingFor;
        if (this.graph.isTarget(name)) detail.target = true;
      }
      details.push(detail);
    }
    return details.sort((a, b) => (a.depends_on < b.depends_on ? -1 : a.depends_on > b.depends_on ? 1 : 0));
  }

  private startedLine(unit: string, waitedFor: string[]): Extract<StartLine, { type: "started" }> {
    const dependencies = this.graph.dependenciesOf(unit).map((d) => d.dependsOn).sort();
    const traceparent = this.traceparentOf?.(unit);
    return { type: "started", dependencies, waited_for: waitedFor, ...(traceparent !== undefined && { traceparent }) };
  }

  private finish(waiter: Waiter, line: StartLine): void {
    this.drop(waiter);
    waiter.sink.write(line);
    waiter.sink.end();
  }

  private drop(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    if (this.byUnit.get(waiter.unit) !== waiter) return;
    // A start that leaves while queued for a lock leaves the queue too; a holder keeps it.
    if (!this.holding.has(waiter)) this.letGo(waiter);
    this.byUnit.delete(waiter.unit);
    this.notify();
  }

  private notify(): void {
    for (const observer of this.observers) observer();
  }
}

