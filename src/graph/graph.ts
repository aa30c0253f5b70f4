import { countOf, edgesIn, edgeTo, NO_EDGES, NO_NAMES, removeEdge, removeName, withEdge, withName, type Edges, type Names } from "./compact.ts";
import { GraphError } from "./errors.ts";
import { closerMatch, noMatch, quote, validateUnitName, type NameMatch } from "./names.ts";

/** Where a registered unit is in its life. An unregistered name has no status (`undefined`). */
export type UnitStatus = "pending" | "started" | "completed" | "failed";

/**
 * What a dependency edge asks of its target: `success` (completed, the default and
 * Coder's only kind), `completion` (ended either way) or `started` (started or completed).
 */
export type Requirement = "success" | "completion" | "started";

export const REQUIREMENTS: readonly Requirement[] = ["success", "completion", "started"];

/**
 * Reads the time, in milliseconds. The graph never looks at a clock of its own: the
 * server passes wall-clock time, tests pass whatever they like.
 */
export type Clock = () => number;

/**
 * How much the graph holds at most, so that no client can make the server grow without
 * bound. A workspace's start-up has tens of units; the defaults leave room for generated ones.
 */
export interface GraphLimits {
  /** Unit names known to the graph, registered or only named as a dependency. */
  units: number;
  /** Dependency edges, over all units. */
  dependencies: number;
}

export const DEFAULT_GRAPH_LIMITS: GraphLimits = { units: 50_000, dependencies: 200_000 };

/**
 * Whose rules the graph keeps where Coder's differ from unitsync's: under `coder`, a start
 * of a completed unit starts it again, and a repeated edge overwrites its requirement.
 */
export type GraphRules = "unitsync" | "coder";

/**
 * Longest part of the first failure's reason that a propagated reason quotes, `...` included:
 * a failure can reach every unit of the graph, and each of their reasons repeats it (10,000
 * of them, listed twice by `timeline -o json`, stay well under 10 MB).
 */
export const QUOTED_REASON_LENGTH = 100;

/**
 * When a unit reached each point of its current attempt; a retry clears all but
 * `registered`. `ended` is when it completed or failed, whichever its status says.
 */
export interface UnitTimes {
  registered: number;
  startRequested?: number;
  started?: number;
  ended?: number;
}

/** One declared edge: what it requires and when it was declared. */
export interface Edge {
  dependsOn: string;
  requires: Requirement;
  declaredAt: number;
  /** Set on an edge nobody declared: `first` made the unit wait for a unit that runs before everything. */
  implicit?: "first";
}

/** One outgoing edge of a unit, with the state of its target right now. */
export interface DependencyState extends Edge {
  currentStatus: UnitStatus | undefined;
  satisfied: boolean;
}

/** A registered unit as `list`, `graph` and `timeline` see it; `reason` says why a failed unit failed. */
export interface UnitSummary {
  name: string;
  status: UnitStatus;
  ready: boolean;
  reason: string | undefined;
  times: UnitTimes;
  /** Outgoing edges in the order they were declared. */
  dependencies: Edge[];
  /** A target completes by itself when its members (its dependencies) have; absent for an ordinary unit. */
  target?: true;
  /** Declared with `first`: every unit outside the set-up phase waits for it; absent otherwise. */
  first?: true;
}

/** What changed in the graph, and when; subscribers (waiters, the event log) react and never poll. */
export type GraphChange = { unit: string; at: number } & (
  | { type: "registered"; target?: true }
  | { type: "dependencies_added"; dependencies: string[]; requires: Requirement }
  | { type: "members_added"; members: string[] }
  | { type: "first_declared"; held: number; running: number }
  | { type: "dependencies_removed"; dependencies: string[]; because: string }
  | { type: "start_requested"; unsatisfied: string[]; by?: string }
  | { type: "status_changed"; from: UnitStatus; to: UnitStatus; reason?: string; propagated?: boolean }
);

export type GraphListener = (change: GraphChange) => void;

/**
 * A failure that reached a unit through a dependency, kept as pointers rather than text so
 * that a failure passed down a chain of n units costs O(n), not O(n²): the dependency it
 * came through, the first failure (the unit whose own failure started it), and how many
 * edges away that unit is.
 */
interface InheritedFailure {
  through: string;
  origin: FailureOrigin;
  depth: number;
}

/** The first failure of a propagation, shared by every unit it reached. */
interface FailureOrigin {
  unit: string;
  /** `dependency "<unit>" failed: <its reason, cut>`, the end of every reason it gives: made once. */
  described: string;
}

interface UnitNode {
  /** The name, as the key of the graph's map: every edge and list of dependents holds this one string. */
  name: string;
  status: UnitStatus | undefined;
  /** Why the unit failed on its own account; undefined for a propagated failure. */
  reason: string | undefined;
  /** Where a propagated failure came from; undefined for any other status or an own failure. */
  inherited: InheritedFailure | undefined;
  /** Dependencies whose requirement became impossible; non-empty means the failure was propagated. */
  blockedBy: Names;
  /** Outgoing edges in the order they were declared. */
  dependencies: Edges;
  /** Undefined until the unit is registered. */
  times: UnitTimes | undefined;
  /** Reverse edges, so a status change touches only the units that care. */
  dependents: Names;
  /** A target: driven by its members, never started, completed or failed by a client. */
  target: boolean;
  /** For a target: how many of its members are completed, so that settling it costs O(1). */
  completedMembers: number;
}

function satisfies(requires: Requirement, status: UnitStatus | undefined): boolean {
  switch (requires) {
    case "success":
      return status === "completed";
    case "completion":
      return status === "completed" || status === "failed";
    case "started":
      return status === "started" || status === "completed";
  }
}

/** A requirement no later event can meet: a failed dependency, unless any ending will do. */
function impossible(requires: Requirement, status: UnitStatus | undefined): boolean {
  return status === "failed" && requires !== "completion";
}

/**
 * The unit dependency graph: units, their statuses and outcomes, and the edges between them.
 * Pure and synchronous, so every operation is atomic with respect to the server's
 * event loop, and a listener sees each change before any other request runs.
 */
export class UnitGraph {
  private readonly clock: Clock;
  private readonly nodes = new Map<string, UnitNode>();
  private readonly listeners = new Set<GraphListener>();
  private readonly pending: GraphChange[] = [];
  private emitting = false;
  private registered = 0;
  private edges = 0;
  private ticks = 0;
  private readonly limits: GraphLimits;
  private readonly rules: GraphRules;
  /** Registered unit names in registration order; units are never removed. */
  private readonly registrations: string[] = [];
  /** Did-you-mean searches by missing name (and waiting unit), each with how many registrations it has seen. */
  private readonly suggestions = new Map<string, NameMatch & { seen: number }>();
  /** Units declared with `first`, in the order they were declared. */
  private readonly firsts = new Set<string>();
  /**
   * The set-up phase: every `first` unit and everything it depends on through declared edges,
   * registered or only named. Nothing in it waits implicitly. Implicit edges only ever point
   * into this set and no declared edge leads out of it, so they can never close a cycle.
   * Names only join it (edges and `first` are never taken back).
   */
  private readonly setup = new Set<string>();

  /** Without a clock, time is a counter that goes up by one at every reading. */
  constructor(options: { clock?: Clock; limits?: Partial<GraphLimits>; rules?: GraphRules } = {}) {
    this.clock = options.clock ?? (() => ++this.ticks);
    this.limits = { ...DEFAULT_GRAPH_LIMITS, ...options.limits };
    this.rules = options.rules ?? "unitsync";
  }

  /** Calls `listener` after every change; returns the function that unsubscribes it. */
  subscribe(listener: GraphListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many units are registered (dependency-only names are not counted). */
  get size(): number {
    return this.registered;
  }

  /**
   * Registers `unit` as pending; returns false when it was already registered. Outside the
   * set-up phase, a new unit waits for every `first` unit through an implicit edge.
   */
  register(unit: string): boolean {
    return this.enroll(unit, false);
  }

  /** `register`, as an ordinary unit or as a target (which never waits implicitly: its members do). */
  private enroll(unit: string, target: boolean): boolean {
    validateUnitName(unit);
    if (this.nodes.get(unit)?.status !== undefined) return false;
    const held = target || this.setup.has(unit) ? [] : [...this.firsts];
    this.admit([unit], held.length);
    const node = this.node(unit);
    const at = this.clock();
    node.status = "pending";
    node.target = target;
    node.times = { registered: at };
    this.registered++;
    this.registrations.push(unit);
    this.emit(target ? { type: "registered", unit, at, target: true } : { type: "registered", unit, at });
    for (const first of held) this.holdBack(unit, first, at);
    for (const first of held) {
      if (impossible("success", this.statusOf(first)) && this.block(unit, first)) this.failCone(unit, this.inheritedThrough(first));
    }
    return true;
  }

  /**
   * Registers `unit` and makes it depend on each of `dependencies`, all or nothing:
   * a bad name, a cycle or a conflicting requirement refuses the whole call and leaves
   * the graph untouched. A dependency that already failed fails a pending `unit` at once.
   * Returns the dependencies in the order given, without repeats.
   */
  declareDependencies(unit: string, dependencies: readonly string[], requires: Requirement = "success"): string[] {
    validateUnitName(unit);
    this.refuseTarget(unit, `cannot wait for other units; add members with "unitsync target ${unit} MEMBER..."`);
    if (dependencies.length === 0) {
      throw new GraphError("invalid_name", "at least one dependency is required");
    }
    const unique = [...new Set(dependencies)];
    for (const dependency of unique) validateUnitName(dependency, "dependency name");
    const existing = this.nodes.get(unit)?.dependencies;
    // An implicit edge to a `first` unit that is now declared becomes an ordinary one.
    const declaredEdge = (dependency: string) => {
      const edge = existing && edgeTo(existing, dependency);
      return edge?.implicit ? undefined : edge;
    };
    for (const dependency of unique) {
      const declared = declaredEdge(dependency)?.requires;
      if (declared !== undefined && declared !== requires && this.rules === "unitsync") {
        throw new GraphError(
          "conflict",
          `unit ${quote(unit)} already depends on ${quote(dependency)} with requirement ${declared}, not ${requires}`,
        );
      }
      const cycle = this.pathBetween(dependency, unit);
      if (cycle) {
        throw new GraphError(
          "cycle",
          `adding edge (${unit} -> ${dependency}): cycle detected: ${[unit, ...cycle].join(" -> ")}`,
        );
      }
    }
    const added = unique.filter((dependency) => declaredEdge(dependency) === undefined);
    const fresh = added.filter((dependency) => !(existing && edgeTo(existing, dependency))).length;
    // Only under Coder's rules can an existing edge change its requirement: it is replaced.
    const changed = unique.filter((dependency) => {
      const declared = declaredEdge(dependency)?.requires;
      return declared !== undefined && declared !== requires;
    });
    // A new unit outside the set-up phase also gets an implicit edge to each `first` unit it does not name.
    const implicit = this.nodes.get(unit)?.status === undefined && !this.setup.has(unit) ? [...this.firsts].filter((f) => !added.includes(f)).length : 0;
    this.admit([unit, ...added], fresh + implicit);
    this.register(unit);
    const node = this.node(unit);
    if (added.length === 0 && changed.length === 0) return unique;
    // Registering may just have added implicit edges to `first` units named here: counted once.
    this.edges += added.filter((dependency) => !edgeTo(node.dependencies, dependency)).length;
    const at = this.clock();
    for (const dependency of changed) edgeTo(node.dependencies, dependency)!.requires = requires;
    for (const dependency of added) this.addEdge(node, dependency, { requires, declaredAt: at });
    this.emit({ type: "dependencies_added", unit, at, dependencies: this.namesOf([...added, ...changed]), requires });
    if (this.setup.has(unit)) this.joinSetup(added, unit);
    for (const dependency of [...added, ...changed]) {
      if (impossible(requires, this.statusOf(dependency)) && this.block(unit, dependency)) {
        this.failCone(unit, this.inheritedThrough(dependency));
      }
    }
    return unique;
  }

  /**
   * Records that a client asked to start `unit` and returns what it still waits for:
   * registers it, retries it if it failed (see `reopen`), and refuses a unit already
   * started or completed. The unit stays pending until `start`. `by` names who asked (a
   * script), for the change's listeners.
   */
  requestStart(unit: string, by?: string): string[] {
    this.refuseTarget(unit, "cannot be started: it completes by itself once all its members have completed");
    this.register(unit);
    const status = this.statusOf(unit);
    if (status === "started") {
      throw new GraphError("wrong_state", `unit ${quote(unit)} is already started`);
    }
    if (status === "completed" && this.rules === "unitsync") {
      throw new GraphError(
        "wrong_state",
        `unit ${quote(unit)} is already completed; a completed unit cannot start again`,
      );
    }
    // Coder's rules start a completed unit again: a new attempt, so its dependents wait once more.
    if (status === "completed") this.rearm(unit);
    if (status === "failed") this.reopen(unit);
    const at = this.clock();
    const unsatisfied = this.unsatisfiedOf(unit);
    this.node(unit).times!.startRequested = at;
    this.emit({ type: "start_requested", unit, at, unsatisfied, ...(by !== undefined && { by }) });
    return unsatisfied;
  }

  /** Marks a ready unit started; a start nobody requested yet is requested first. */
  start(unit: string): void {
    if (this.statusOf(unit) !== "pending" || this.nodes.get(unit)!.times!.startRequested === undefined) {
      this.requestStart(unit);
    }
    const unsatisfied = this.unsatisfiedOf(unit);
    if (unsatisfied.length > 0) {
      throw new GraphError(
        "wrong_state",
        `unit ${quote(unit)} is not ready: waiting for [${unsatisfied.join(", ")}]`,
      );
    }
    this.setStatus(unit, "started");
  }

  /**
   * Turns a failed unit back to pending for a retry, and re-arms every unit downstream
   * whose failure came only from it. Refuses, changing nothing, while one of the unit's
   * own dependencies has failed: the retry could never start.
   */
  reopen(unit: string): void {
    const node = this.nodes.get(unit);
    if (node?.status !== "failed") return;
    const blocker = [...edgesIn(node.dependencies)].find((edge) =>
      impossible(edge.requires, this.statusOf(edge.dependsOn)),
    );
    if (blocker) {
      const reason = this.reasonOf(unit) ?? describeInherited(this.inheritedThrough(blocker.dependsOn));
      throw new GraphError("dependency_failed", `${unit}: ${reason}`);
    }
    this.rearm(unit);
  }

  /** Marks a registered unit completed, whether or not it was started (as Coder allows). */
  complete(unit: string): void {
    validateUnitName(unit);
    this.refuseTarget(unit, "cannot be completed by hand: it completes by itself once all its members have completed");
    const status = this.statusOf(unit);
    if (status === undefined) {
      throw new GraphError(
        "not_registered",
        `unit ${quote(unit)} is not registered; "want" or "start" registers a unit`,
      );
    }
    if (status === "completed") {
      throw new GraphError("wrong_state", `unit ${quote(unit)} is already completed`);
    }
    if (status === "failed") {
      throw new GraphError("wrong_state", `unit ${quote(unit)} already failed; start it again to retry`);
    }
    this.setStatus(unit, "completed");
    this.settleTargets(this.node(unit).dependents);
  }

  /**
   * Marks `unit` failed with `reason` (registering it if needed, so that its dependents
   * learn of it), and at once fails every pending unit downstream whose requirement
   * this makes impossible, transitively, each with a reason that names the first failure.
   */
  fail(unit: string, reason: string): void {
    validateUnitName(unit);
    this.refuseTarget(unit, "cannot be failed by hand: it fails when one of its members fails; fail that member");
    this.register(unit);
    const status = this.statusOf(unit);
    if (status === "completed") {
      throw new GraphError("wrong_state", `unit ${quote(unit)} is already completed`);
    }
    const node = this.node(unit);
    if (status === "failed" && countOf(node.blockedBy) === 0) {
      throw new GraphError("wrong_state", `unit ${quote(unit)} already failed: ${node.reason || "no reason given"}`);
    }
    node.blockedBy = NO_NAMES;
    this.failCone(unit, reason);
  }

  /**
   * Declares `target`, a unit that gathers `members` (its dependencies, each required to
   * succeed) and completes by itself once every member has completed, or fails with the
   * member's reason when one fails. Registers it when new; a name already registered as an
   * ordinary unit is refused. Members may be added, all or nothing, until the target has
   * completed. With no member yet it stays pending. Returns the members this call added, in
   * order, and how many it has in all (not the whole list: a module adding members one call
   * at a time must not pay for the list every time).
   */
  declareTarget(target: string, members: readonly string[]): { added: string[]; members: number } {
    validateUnitName(target);
    const unique = [...new Set(members)];
    for (const member of unique) validateUnitName(member, "member name");
    const existing = this.nodes.get(target);
    if (existing?.status !== undefined && !existing.target) {
      throw new GraphError(
        "conflict",
        `unit ${quote(target)} is already registered as an ordinary unit, so it cannot become a target; declare a target before any script registers its name, or choose another name`,
      );
    }
    const fresh = unique.filter((member) => !(existing && edgeTo(existing.dependencies, member)));
    if (existing?.status === "completed" && fresh.length > 0) {
      throw new GraphError(
        "wrong_state",
        `target ${quote(target)} already completed, so it cannot gather [${fresh.join(", ")}]; add members before their target completes`,
      );
    }
    for (const member of fresh) {
      const cycle = this.pathBetween(member, target);
      if (cycle) {
        throw new GraphError("cycle", `adding member (${target} -> ${member}): cycle detected: ${[target, ...cycle].join(" -> ")}`);
      }
    }
    this.admit([target, ...fresh], fresh.length);
    this.enroll(target, true);
    const node = this.node(target);
    if (fresh.length > 0) {
      this.edges += fresh.length;
      const at = this.clock();
      for (const member of fresh) {
        this.addEdge(node, member, { requires: "success", declaredAt: at });
        if (this.statusOf(member) === "completed") node.completedMembers++;
      }
      this.emit({ type: "members_added", unit: target, at, members: this.namesOf(fresh) });
      if (this.setup.has(target)) this.joinSetup(fresh, target);
      for (const member of fresh) {
        if (impossible("success", this.statusOf(member)) && this.block(target, member)) {
          this.failCone(target, this.inheritedThrough(member));
        }
      }
    }
    this.settleTargets([target]);
    return { added: fresh, members: countOf(node.dependencies) };
  }

  /**
   * Makes `unit` run before everything else: every unit outside the set-up phase (the
   * `first` units and all they depend on), registered now or later, waits for it through an
   * implicit edge. Units already started or completed are left alone; pending and failed
   * ones wait (a failed one once it is retried). `first` units do not wait for each other.
   * Returns how many units wait for it now, and how many were already running.
   */
  declareFirst(unit: string): { held: number; running: number } {
    validateUnitName(unit);
    const upstream = this.declaredUpstream(unit);
    let running = 0;
    const candidates: string[] = [];
    for (const name of this.registrations) {
      const node = this.nodes.get(name)!;
      if (node.target || upstream.has(name) || this.setup.has(name)) continue;
      if (node.status === "started") running++;
      else if ((node.status === "pending" || node.status === "failed") && !edgeTo(node.dependencies, unit)) candidates.push(name);
    }
    this.admit([unit], candidates.length);
    this.firsts.add(unit);
    this.joinSetup([unit], unit);
    this.register(unit);
    const at = this.clock();
    for (const name of candidates) this.holdBack(name, unit, at);
    let held = 0;
    for (const dependent of this.node(unit).dependents) {
      const node = this.node(dependent);
      if (node.status === "pending" && edgeTo(node.dependencies, unit)!.implicit) held++;
    }
    this.emit({ type: "first_declared", unit, at, held, running });
    if (impossible("success", this.statusOf(unit))) {
      for (const name of candidates) {
        if (this.block(name, unit)) this.failCone(name, this.inheritedThrough(unit));
      }
    }
    return { held, running };
  }

  /** True for a unit declared with `first`. */
  isFirst(unit: string): boolean {
    return this.firsts.has(unit);
  }

  /** True for a target (see `declareTarget`). */
  isTarget(unit: string): boolean {
    return this.nodes.get(unit)?.target === true;
  }

  /** When the unit reached each point of its current attempt, or `undefined` when not registered. */
  timesOf(unit: string): UnitTimes | undefined {
    const times = this.nodes.get(unit)?.times;
    return times && { ...times };
  }

  /** The unit's status, or `undefined` when nobody registered it. */
  statusOf(unit: string): UnitStatus | undefined {
    return this.nodes.get(unit)?.status;
  }

  /**
   * Why a failed unit failed, or `undefined`. An own failure gives its reason whole; a
   * propagated one names the dependency it came through and the first failure, whose
   * reason it quotes up to QUOTED_REASON_LENGTH, so its length does not grow with depth.
   */
  reasonOf(unit: string): string | undefined {
    const node = this.nodes.get(unit);
    return node?.inherited ? describeInherited(node.inherited) : node?.reason;
  }

  /** True when every dependency's requirement is met; an unregistered unit is ready. */
  isReady(unit: string): boolean {
    return this.unsatisfiedOf(unit).length === 0;
  }

  /** The unit's dependencies in declaration order, with their current state. */
  dependenciesOf(unit: string): DependencyState[] {
    const node = this.nodes.get(unit);
    if (!node) return [];
    return [...edgesIn(node.dependencies)].map((edge) => {
      const currentStatus = this.statusOf(edge.dependsOn);
      return { ...edge, currentStatus, satisfied: satisfies(edge.requires, currentStatus) };
    });
  }

  /** Names of the dependencies whose requirement is not met yet, sorted. */
  unsatisfiedOf(unit: string): string[] {
    const node = this.nodes.get(unit);
    if (!node) return [];
    const unsatisfied: string[] = [];
    for (const { dependsOn, requires } of edgesIn(node.dependencies)) {
      if (!satisfies(requires, this.statusOf(dependsOn))) unsatisfied.push(dependsOn);
    }
    return unsatisfied.sort();
  }

  /**
   * For a name nobody registered, the registered unit it most likely meant (a typo is the
   * commonest way to hang a start-up); `except` is never suggested, e.g. the waiting unit itself.
   */
  suggestionFor(name: string, except?: string): string | undefined {
    if (this.statusOf(name) !== undefined) return undefined;
    // Many waiters may miss the same name, and ask again with every progress line: each
    // search goes on from where it stopped, over the units registered since.
    const key = `${name}\u0000${except ?? ""}`;
    const search = this.suggestions.get(key) ?? { ...noMatch(name), seen: 0 };
    if (search.seen < this.registrations.length) {
      const fresh = this.registrations.slice(search.seen).filter((unit) => unit !== except);
      this.suggestions.set(key, { ...closerMatch(name, search, fresh), seen: this.registrations.length });
    }
    return this.suggestions.get(key)!.best;
  }

  /** Units that declared a dependency on `unit`. */
  dependentsOf(unit: string): Iterable<string> {
    return this.nodes.get(unit)?.dependents ?? [];
  }

  /** Every registered unit, sorted by name. */
  units(): UnitSummary[] {
    const summaries: UnitSummary[] = [];
    for (const [name, node] of this.nodes) {
      if (node.status === undefined) continue;
      summaries.push({
        name,
        status: node.status,
        ready: this.isReady(name),
        reason: this.reasonOf(name),
        times: { ...node.times! },
        dependencies: [...edgesIn(node.dependencies)].map((edge) => ({ ...edge })),
        ...(node.target && { target: true as const }),
        ...(this.firsts.has(name) && { first: true as const }),
      });
    }
    return summaries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Refuses, with `what` it cannot do, an operation a client asked of a target. */
  private refuseTarget(unit: string, what: string): void {
    if (this.nodes.get(unit)?.target) throw new GraphError("is_target", `${quote(unit)} is a target and ${what}`);
  }

  /** Adds the implicit edge `unit -> first`, unless `unit` already depends on it; failure is the caller's to pass on. */
  private holdBack(unit: string, first: string, at: number): void {
    const node = this.node(unit);
    if (edgeTo(node.dependencies, first)) return;
    this.addEdge(node, first, { requires: "success", declaredAt: at, implicit: "first" });
    this.edges++;
  }

  /** `unit` and every name it depends on through declared edges, outside the set-up phase (which is closed already). */
  private declaredUpstream(unit: string): Set<string> {
    const found = new Set([unit]);
    const work = [unit];
    for (let index = 0; index < work.length; index++) {
      for (const edge of edgesIn(this.nodes.get(work[index]!)?.dependencies ?? NO_EDGES)) {
        if (edge.implicit || found.has(edge.dependsOn) || this.setup.has(edge.dependsOn)) continue;
        found.add(edge.dependsOn);
        work.push(edge.dependsOn);
      }
    }
    return found;
  }

  /**
   * Adds `names` and all they depend on through declared edges to the set-up phase, and
   * drops the implicit edges of each unit that joins it: what a `first` unit needs cannot
   * wait for it. A name joins once, so this costs O(edges) over the server's whole life.
   */
  private joinSetup(names: Iterable<string>, because: string): void {
    const work: string[] = [];
    for (const name of names) if (!this.setup.has(name)) work.push(name);
    for (const name of work) this.setup.add(name);
    for (let index = 0; index < work.length; index++) {
      const name = work[index]!;
      const node = this.nodes.get(name);
      if (!node) continue;
      const dropped: string[] = [];
      for (const edge of edgesIn(node.dependencies)) {
        if (edge.implicit) dropped.push(edge.dependsOn);
        else if (!this.setup.has(edge.dependsOn)) {
          this.setup.add(edge.dependsOn);
          work.push(edge.dependsOn);
        }
      }
      if (dropped.length > 0) this.dropImplicit(name, dropped, because);
    }
  }

  /** Removes `unit`'s implicit edges to `firsts`; a failure that came only through them is undone. */
  private dropImplicit(unit: string, firsts: string[], because: string): void {
    const node = this.node(unit);
    for (const first of firsts) {
      removeEdge(node.dependencies, first);
      removeName(this.node(first).dependents, unit);
      this.edges--;
    }
    this.emit({ type: "dependencies_removed", unit, at: this.clock(), dependencies: firsts, because });
    if (node.status !== "failed" || countOf(node.blockedBy) === 0) return;
    for (const first of firsts) removeName(node.blockedBy, first);
    if (countOf(node.blockedBy) === 0) this.rearm(unit);
  }

  /**
   * Completes each of `candidates` that is a target whose every member has completed, then
   * the targets gathering those, and so on. O(1) per candidate: targets count completed members.
   */
  private settleTargets(candidates: Iterable<string>): void {
    const work = [...candidates];
    for (let index = 0; index < work.length; index++) {
      const name = work[index]!;
      const node = this.nodes.get(name);
      if (!node?.target || node.status !== "pending") continue;
      const members = countOf(node.dependencies);
      if (members === 0 || node.completedMembers < members) continue;
      this.setStatus(name, "completed");
      for (const dependent of node.dependents) work.push(dependent);
    }
  }

  /**
   * Records that `dependency` can no longer meet `unit`'s requirement. A pending unit
   * fails; one already failed for the same kind of reason remembers the extra blocker;
   * a started unit runs on, and an own failure keeps its own reason.
   */
  private block(unit: string, dependency: string): boolean {
    const node = this.node(unit);
    if (node.status === "pending" || (node.status === "failed" && countOf(node.blockedBy) > 0)) {
      node.blockedBy = withName(node.blockedBy, this.node(dependency).name);
    }
    return node.status === "pending";
  }

  /** The failure a unit inherits from `dependency`, which failed: one edge further from the first failure. */
  private inheritedThrough(dependency: string): InheritedFailure {
    const node = this.node(dependency);
    if (node.inherited) return { through: dependency, origin: node.inherited.origin, depth: node.inherited.depth + 1 };
    const reason = node.reason ? `: ${quoted(node.reason)}` : "";
    const origin = { unit: dependency, described: `dependency ${quote(dependency)} failed${reason}` };
    return { through: dependency, origin, depth: 1 };
  }

  /**
   * Fails `unit`, for `cause` (its own reason, or a failure inherited through a dependency),
   * then, breadth first, every pending unit downstream that it makes impossible.
   */
  private failCone(unit: string, cause: string | InheritedFailure): void {
    const work: Array<{ unit: string; cause: string | InheritedFailure }> = [{ unit, cause }];
    // One reading for the whole cone: it fails in one step, as far as anyone can observe.
    const at = this.clock();
    // An index, not shift(): shifting a long queue can cost its length each time.
    for (let index = 0; index < work.length; index++) {
      const { unit: name, cause } = work[index]!;
      const node = this.node(name);
      const propagated = typeof cause !== "string";
      if (propagated && node.status !== "pending") continue; // reached twice, through a diamond
      const from = node.status!;
      node.status = "failed";
      node.reason = typeof cause === "string" ? cause : undefined;
      node.inherited = typeof cause === "string" ? undefined : cause;
      node.times!.ended = at;
      this.emit({
        type: "status_changed",
        unit: name,
        at,
        from,
        to: "failed",
        reason: this.reasonOf(name),
        propagated,
      });
      let passedOn: InheritedFailure | undefined;
      for (const dependent of node.dependents) {
        const requires = edgeTo(this.node(dependent).dependencies, name)!.requires;
        if (impossible(requires, "failed") && this.block(dependent, name)) {
          // Every dependent inherits the same failure: one object, shared.
          passedOn ??= this.inheritedThrough(name);
          work.push({ unit: dependent, cause: passedOn });
        }
      }
    }
  }

  /** failed -> pending, then the same for every unit downstream that only this one blocked. */
  private rearm(unit: string): void {
    const work = [unit];
    for (let index = 0; index < work.length; index++) {
      const next = work[index]!;
      const node = this.node(next);
      node.blockedBy = NO_NAMES;
      node.reason = undefined;
      node.inherited = undefined;
      // A retry is a new attempt: its times start over, all but the registration.
      node.times = { registered: node.times!.registered };
      this.setStatus(next, "pending");
      for (const dependent of node.dependents) {
        const other = this.node(dependent);
        if (removeName(other.blockedBy, next) && other.status === "failed" && countOf(other.blockedBy) === 0) {
          work.push(dependent);
        }
      }
    }
  }

  /** A dependency path `from -> ... -> to` over existing edges, or undefined when there is none. */
  private pathBetween(from: string, to: string): string[] | undefined {
    if (from === to) return [from];
    // Nothing depends on `to` yet (the usual case: a fresh unit declaring its needs): no path can end there.
    const target = this.nodes.get(to);
    if (!target || countOf(target.dependents) === 0) return undefined;
    const cameFrom = new Map<string, string>([[from, from]]);
    const stack = [from];
    while (stack.length > 0) {
      const current = stack.pop()!;
      // Implicit edges never close a cycle (see `setup`): one that would is dropped instead.
      for (const { dependsOn: next, implicit } of edgesIn(this.nodes.get(current)?.dependencies ?? NO_EDGES)) {
        if (implicit || cameFrom.has(next)) continue;
        cameFrom.set(next, current);
        if (next === to) {
          const path = [to];
          for (let step = current; step !== from; step = cameFrom.get(step)!) path.push(step);
          path.push(from);
          return path.reverse();
        }
        stack.push(next);
      }
    }
    return undefined;
  }

  private setStatus(unit: string, to: UnitStatus): void {
    const node = this.node(unit);
    const from = node.status!;
    const at = this.clock();
    node.status = to;
    const counted = (to === "completed" ? 1 : 0) - (from === "completed" ? 1 : 0);
    if (counted !== 0) {
      for (const dependent of node.dependents) {
        const other = this.node(dependent);
        if (other.target) other.completedMembers += counted;
      }
    }
    if (to === "started") node.times!.started = at;
    if (to === "completed") node.times!.ended = at;
    this.emit({ type: "status_changed", unit, at, from, to });
  }

  /** The graph's own copies of `names`, for what outlives the call. */
  private namesOf(names: readonly string[]): string[] {
    return names.map((name) => this.nodes.get(name)?.name ?? name);
  }

  /**
   * Adds the edge `node -> dependency` (there is none yet) and its reverse. Both hold the
   * names the graph's map holds, not the caller's copies: 10,000 edges, not 10,000 more strings.
   */
  private addEdge(node: UnitNode, dependency: string, edge: Omit<Edge, "dependsOn">): void {
    const target = this.node(dependency);
    node.dependencies = withEdge(node.dependencies, { dependsOn: target.name, ...edge });
    target.dependents = withName(target.dependents, node.name);
  }

  /** Refuses, before anything changes, a call that would take the graph past its limits. */
  private admit(names: readonly string[], newEdges: number): void {
    const newNames = names.filter((name) => !this.nodes.has(name)).length;
    if (this.nodes.size + newNames > this.limits.units) {
      throw new GraphError(
        "limit_exceeded",
        `the server already knows ${this.nodes.size} unit names and holds at most ${this.limits.units}; is a script inventing names in a loop?`,
      );
    }
    if (this.edges + newEdges > this.limits.dependencies) {
      throw new GraphError(
        "limit_exceeded",
        `the server already holds ${this.edges} dependencies and at most ${this.limits.dependencies}; is a script declaring them in a loop?`,
      );
    }
  }

  private node(unit: string): UnitNode {
    let node = this.nodes.get(unit);
    if (!node) {
      node = {
        name: unit,
        status: undefined,
        reason: undefined,
        inherited: undefined,
        blockedBy: NO_NAMES,
        dependencies: NO_EDGES,
        dependents: NO_NAMES,
        times: undefined,
        target: false,
        completedMembers: 0,
      };
      this.nodes.set(unit, node);
    }
    return node;
  }

  /**
   * Delivers changes in the order they happened. A listener may change the graph (a
   * waiter starting its unit); that change is queued until every listener saw this one.
   */
  private emit(change: GraphChange): void {
    // A change outlives its request (the server's event log keeps thousands): it holds the graph's copy of the name.
    change.unit = this.nodes.get(change.unit)?.name ?? change.unit;
    this.pending.push(change);
    if (this.emitting) return;
    this.emitting = true;
    try {
      for (let index = 0; index < this.pending.length; index++) {
        for (const listener of this.listeners) listener(this.pending[index]!);
      }
    } finally {
      this.emitting = false;
      this.pending.length = 0;
    }
  }
}

/**
 * A propagated failure in words, its length bounded whatever the depth: up to two edges
 * the whole chain (`dependency "b" failed: dependency "c" failed: exit code 1`); deeper,
 * the nearest dependency and the first failure with the count of those in between
 * (`dependency "b" failed: ... 9,997 more failed dependencies ...: dependency "z" failed: exit code 1`).
 */
function describeInherited({ through, origin, depth }: InheritedFailure): string {
  const first = origin.described;
  if (depth === 1) return first;
  const nearest = `dependency ${quote(through)} failed`;
  if (depth === 2) return `${nearest}: ${first}`;
  const between = depth - 2;
  return `${nearest}: ... ${withThousands(between)} more failed ${between === 1 ? "dependency" : "dependencies"} ...: ${first}`;
}

/** `reason` cut to QUOTED_REASON_LENGTH characters, `...` included, never inside a surrogate pair. */
function quoted(reason: string): string {
  if (reason.length <= QUOTED_REASON_LENGTH) return reason;
  let end = QUOTED_REASON_LENGTH - 3;
  const last = reason.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${reason.slice(0, end)}...`;
}

/** `9997` as `9,997`. */
function withThousands(count: number): string {
  const digits = String(count);
  let text = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = text.length; i < digits.length; i += 3) text += `,${digits.slice(i, i + 3)}`;
  return text;
}
