import { GraphError } from "./errors.ts";
import { quote, validateUnitName } from "./names.ts";

/** Where a registered unit is in its life. An unregistered name has no status (`undefined`). */
export type UnitStatus = "pending" | "started" | "completed";

/** What a dependency edge asks of its target; Coder's socket API only ever asks for `completed`. */
export type RequiredStatus = "completed";

/** One outgoing edge of a unit, with the state of its target right now. */
export interface DependencyState {
  dependsOn: string;
  requiredStatus: RequiredStatus;
  currentStatus: UnitStatus | undefined;
  satisfied: boolean;
}

/** A registered unit as `list` shows it. */
export interface UnitSummary {
  name: string;
  status: UnitStatus;
  ready: boolean;
}

/** What changed in the graph; subscribers (waiters, logs) react to these and never poll. */
export type GraphChange =
  | { type: "registered"; unit: string }
  | { type: "dependencies_added"; unit: string; dependencies: string[] }
  | { type: "status_changed"; unit: string; from: UnitStatus; to: UnitStatus };

export type GraphListener = (change: GraphChange) => void;

interface UnitNode {
  status: UnitStatus | undefined;
  /** Outgoing edges in the order they were declared. */
  dependencies: Map<string, RequiredStatus>;
  /** Reverse edges, so a status change touches only the units that care. */
  dependents: Set<string>;
}

/**
 * The unit dependency graph: units, their statuses and the edges between them.
 * Pure and synchronous, so every operation is atomic with respect to the server's
 * event loop, and a listener sees each change before any other request runs.
 */
export class UnitGraph {
  private readonly nodes = new Map<string, UnitNode>();
  private readonly listeners = new Set<GraphListener>();
  private readonly pending: GraphChange[] = [];
  private emitting = false;
  private registered = 0;

  /** Calls `listener` after every change; returns the function that unsubscribes it. */
  subscribe(listener: GraphListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many units are registered (dependency-only names are not counted). */
  get size(): number {
    return this.registered;
  }

  /** Registers `unit` as pending; returns false when it was already registered. */
  register(unit: string): boolean {
    validateUnitName(unit);
    const node = this.node(unit);
    if (node.status !== undefined) return false;
    node.status = "pending";
    this.registered++;
    this.emit({ type: "registered", unit });
    return true;
  }

  /**
   * Registers `unit` and makes it depend on each of `dependencies`, all or nothing:
   * a bad name or a cycle refuses the whole call and leaves the graph untouched.
   * Returns the dependencies in the order given, without repeats.
   */
  declareDependencies(unit: string, dependencies: readonly string[]): string[] {
    validateUnitName(unit);
    if (dependencies.length === 0) {
      throw new GraphError("invalid_name", "at least one dependency is required");
    }
    const unique = [...new Set(dependencies)];
    for (const dependency of unique) validateUnitName(dependency, "dependency name");
    for (const dependency of unique) {
      const cycle = this.pathBetween(dependency, unit);
      if (cycle) {
        throw new GraphError(
          "cycle",
          `adding edge (${unit} -> ${dependency}): cycle detected: ${[unit, ...cycle].join(" -> ")}`,
        );
      }
    }
    this.register(unit);
    const node = this.node(unit);
    const added: string[] = [];
    for (const dependency of unique) {
      if (node.dependencies.has(dependency)) continue;
      node.dependencies.set(dependency, "completed");
      this.node(dependency).dependents.add(unit);
      added.push(dependency);
    }
    if (added.length > 0) this.emit({ type: "dependencies_added", unit, dependencies: added });
    return unique;
  }

  /** Marks a ready, pending unit started, registering it first if needed. */
  start(unit: string): void {
    this.register(unit);
    const status = this.statusOf(unit);
    if (status === "started") {
      throw new GraphError("wrong_state", `unit ${quote(unit)} is already started`);
    }
    if (status === "completed") {
      throw new GraphError(
        "wrong_state",
        `unit ${quote(unit)} is already completed; a completed unit cannot start again`,
      );
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

  /** Marks a registered unit completed, whether or not it was started (as Coder allows). */
  complete(unit: string): void {
    validateUnitName(unit);
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
    this.setStatus(unit, "completed");
  }

  /** The unit's status, or `undefined` when nobody registered it. */
  statusOf(unit: string): UnitStatus | undefined {
    return this.nodes.get(unit)?.status;
  }

  /** True when every dependency has its required status; an unregistered unit is ready. */
  isReady(unit: string): boolean {
    return this.unsatisfiedOf(unit).length === 0;
  }

  /** The unit's dependencies in declaration order, with their current state. */
  dependenciesOf(unit: string): DependencyState[] {
    const node = this.nodes.get(unit);
    if (!node) return [];
    return [...node.dependencies].map(([dependsOn, requiredStatus]) => {
      const currentStatus = this.statusOf(dependsOn);
      return { dependsOn, requiredStatus, currentStatus, satisfied: currentStatus === requiredStatus };
    });
  }

  /** Names of the dependencies not yet satisfied, sorted. */
  unsatisfiedOf(unit: string): string[] {
    const node = this.nodes.get(unit);
    if (!node) return [];
    const unsatisfied: string[] = [];
    for (const [dependsOn, required] of node.dependencies) {
      if (this.statusOf(dependsOn) !== required) unsatisfied.push(dependsOn);
    }
    return unsatisfied.sort();
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
      summaries.push({ name, status: node.status, ready: this.isReady(name) });
    }
    return summaries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A dependency path `from -> ... -> to` over existing edges, or undefined when there is none. */
  private pathBetween(from: string, to: string): string[] | undefined {
    if (from === to) return [from];
    const cameFrom = new Map<string, string>([[from, from]]);
    const stack = [from];
    while (stack.length > 0) {
      const current = stack.pop()!;
      for (const next of this.nodes.get(current)?.dependencies.keys() ?? []) {
        if (cameFrom.has(next)) continue;
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
    node.status = to;
    this.emit({ type: "status_changed", unit, from, to });
  }

  private node(unit: string): UnitNode {
    let node = this.nodes.get(unit);
    if (!node) {
      node = { status: undefined, dependencies: new Map(), dependents: new Set() };
      this.nodes.set(unit, node);
    }
    return node;
  }

  /**
   * Delivers changes in the order they happened. A listener may change the graph (a
   * waiter starting its unit); that change is queued until every listener saw this one.
   */
  private emit(change: GraphChange): void {
    this.pending.push(change);
    if (this.emitting) return;
    this.emitting = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        for (const listener of this.listeners) listener(next);
      }
    } finally {
      this.emitting = false;
      this.pending.length = 0;
    }
  }
}
