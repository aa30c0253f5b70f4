// A reference model of unitsync's semantics for the randomized model test, written from
// README.md ("Failure, outcomes and retries", the requirements table, "Differences from
// coder exp sync") and the reference's sections 2 to 5, not from src/graph. It keeps only
// what can be observed: statuses, outcomes, edges, and which held start waits for which unit.
//
// Where the documents are silent, the model states the choice it makes:
// - `fail` of a unit that failed only because of a dependency is allowed and makes the
//   failure its own (with the new reason); `fail` of a unit that failed on its own is refused.
// - a refused `want` reports `conflict` or `cycle`; when both apply, either code is accepted.
// - the reason of a propagated failure names, for some failed dependency X, X and the first
//   failure F it traces back to, as the README's failure section words it: `dependency "F"
//   failed: <F's reason>` when X is F, `dependency "X" failed: dependency "F" failed: <F's
//   reason>` one unit further, and deeper `dependency "X" failed: ... N more failed
//   dependencies ...: dependency "F" failed: <F's reason>` (": <F's reason>" left out when it
//   is empty, and cut to 100 characters); with several
//   (a diamond) any of them is accepted, and the model adopts the server's choice.

export type Status = "pending" | "started" | "completed" | "failed";
export type Requirement = "success" | "completion" | "started";

/** What a request answered, reduced to what the model predicts. */
export type Answer =
  | { ok: unknown }
  | { error: string }
  | { waiting: string[] }
  | { started: { dependencies: string[]; waited_for: string[] } };

/** A prediction: a refusal may allow several codes. */
export type Prediction =
  | { ok: unknown }
  | { error: string[] }
  | { waiting: string[] }
  | { started: { dependencies: string[]; waited_for: string[] } };

/** The last line a waiting start gets; `message` is checked only when set. */
export type FinalLine =
  | { type: "started"; dependencies: string[]; waited_for: string[] }
  | { type: "error"; code: string; message?: string };

export interface Release {
  holder: number;
  unit: string;
  line: FinalLine;
}

/** What one request did: its answer, its effects as event keys (see `eventKey`), the starts it ended. */
export interface Step {
  prediction: Prediction;
  effects: string[];
  releases: Release[];
}

export type Op =
  | { kind: "want"; unit: string; dependencies: string[]; requires: Requirement }
  | { kind: "start"; unit: string; holder: number }
  | { kind: "complete"; unit: string }
  | { kind: "fail"; unit: string; reason: string }
  | { kind: "list" }
  | { kind: "abandon"; holder: number };

interface ModelUnit {
  status: Status | undefined;
  reason: string | undefined;
  propagated: boolean;
  /** For a failed unit, the first failure it traces back to (itself, at depth 0, for an own failure). */
  origin: Origin | undefined;
  dependencies: Map<string, Requirement>;
  holder: number | undefined;
  waitedFor: string[];
}

/** A unit whose own failure started a propagation, its reason, and how many edges away it is. */
interface Origin {
  unit: string;
  reason: string;
  depth: number;
}

/** The README's wording of a failure inherited through `dependency` from `origin`. */
function inheritedReason(dependency: string, origin: Origin): string {
  const cut = origin.reason.length > 100 ? `${origin.reason.slice(0, 97)}...` : origin.reason;
  const first = `dependency ${JSON.stringify(origin.unit)} failed${cut ? `: ${cut}` : ""}`;
  if (origin.depth === 1) return first;
  const nearest = `dependency ${JSON.stringify(dependency)} failed`;
  if (origin.depth === 2) return `${nearest}: ${first}`;
  const between = origin.depth - 2;
  return `${nearest}: ... ${between.toLocaleString("en-US")} more failed ${between === 1 ? "dependency" : "dependencies"} ...: ${first}`;
}

export function satisfies(requires: Requirement, status: Status | undefined): boolean {
  if (requires === "success") return status === "completed";
  if (requires === "completion") return status === "completed" || status === "failed";
  return status === "started" || status === "completed";
}

export function impossible(requires: Requirement, status: Status | undefined): boolean {
  return status === "failed" && requires !== "completion";
}

const sorted = (names: Iterable<string>) => [...names].sort();

/** The event a change leaves in `GET /v1/events`, as a comparable string. */
export function eventKey(event: {
  type: string;
  unit: string;
  dependencies?: string[];
  requires?: string;
  unsatisfied?: string[];
  from?: string;
  to?: string;
  reason?: string;
  propagated?: boolean;
}): string {
  switch (event.type) {
    case "registered":
      return `registered ${event.unit}`;
    case "dependencies_added":
      return `dependencies ${event.unit} [${sorted(event.dependencies ?? [])}] ${event.requires}`;
    case "start_requested":
      return `start_requested ${event.unit} [${sorted(event.unsatisfied ?? [])}]`;
    case "status_changed":
      if (event.to !== "failed") return `${event.unit} ${event.from}->${event.to}`;
      return event.propagated
        ? `${event.unit} ${event.from}->failed propagated`
        : `${event.unit} ${event.from}->failed own ${JSON.stringify(event.reason ?? "")}`;
    default:
      return `unknown ${JSON.stringify(event)}`;
  }
}

/**
 * The semantics, as the README documents them:
 * - `want U D... --requires R` registers U and adds the edges, all or nothing: `cycle` when
 *   some D already reaches U (D = U included), `conflict` when U -> D exists with another
 *   requirement; the same edge again changes nothing. An edge whose requirement a failed D
 *   makes impossible fails U at once if U is pending.
 * - `start U` registers U; `conflict` while another start of U waits, `wrong_state` when U is
 *   started or completed, `dependency_failed` for a failed U whose own dependency failed. A
 *   failed U is otherwise a retry: U and every unit downstream that failed only because of
 *   it go back to pending. U then starts at once if every requirement is met, or waits.
 * - `complete U`: `not_registered` for an unknown U, `wrong_state` when completed or failed;
 *   a start of U that waits ends with `wrong_state`.
 * - `fail U` registers U; `wrong_state` when completed. U fails, and so, transitively, does
 *   every pending unit downstream whose requirement that makes impossible (any but
 *   `completion`); their waiting starts end with `dependency_failed` and the reason chain.
 * - After every change, each waiting start whose requirements are all met starts; a start
 *   can meet a `started` requirement, so this repeats until nothing changes.
 */
export class Model {
  private units = new Map<string, ModelUnit>();

  clone(): Model {
    const copy = new Model();
    for (const [name, unit] of this.units) {
      copy.units.set(name, { ...unit, origin: unit.origin && { ...unit.origin }, dependencies: new Map(unit.dependencies), waitedFor: [...unit.waitedFor] });
    }
    return copy;
  }

  /** Everything the model knows, canonically: two models with the same key behave the same. */
  key(): string {
    return JSON.stringify(
      sorted(this.units.keys()).map((name) => {
        const u = this.units.get(name)!;
        return [name, u.status, u.reason, u.propagated, u.origin, [...u.dependencies], u.holder, u.waitedFor];
      }),
    );
  }

  apply(op: Op): Step {
    switch (op.kind) {
      case "want":
        return this.want(op.unit, op.dependencies, op.requires);
      case "start":
        return this.start(op.unit, op.holder);
      case "complete":
        return this.complete(op.unit);
      case "fail":
        return this.fail(op.unit, op.reason);
      case "list":
        return { prediction: { ok: this.list() }, effects: [], releases: [] };
      case "abandon":
        for (const unit of this.units.values()) {
          if (unit.holder === op.holder) unit.holder = undefined;
        }
        return { prediction: { ok: null }, effects: [], releases: [] };
    }
  }

  statusOf(name: string): Status | undefined {
    return this.units.get(name)?.status;
  }

  reasonOf(name: string): string | undefined {
    return this.units.get(name)?.reason;
  }

  /** The reasons a propagated failure of `name` may carry, given the failed dependencies it has now. */
  propagatedReasons(name: string): string[] {
    return this.propagatedFailures(name).map((failure) => failure.reason);
  }

  /** Takes the server's choice of reason for a propagated failure (see the note at the top). */
  adoptReason(name: string, reason: string): void {
    const unit = this.units.get(name)!;
    unit.reason = reason;
    unit.origin = this.propagatedFailures(name).find((failure) => failure.reason === reason)?.origin ?? unit.origin;
  }

  /** What `name` may inherit: one failure per failed dependency whose requirement that breaks. */
  private propagatedFailures(name: string): Array<{ reason: string; origin: Origin }> {
    const failures: Array<{ reason: string; origin: Origin }> = [];
    for (const [dependency, requires] of this.units.get(name)?.dependencies ?? []) {
      const target = this.units.get(dependency);
      if (!impossible(requires, target?.status)) continue;
      const origin = { ...target!.origin!, depth: target!.origin!.depth + 1 };
      failures.push({ reason: inheritedReason(dependency, origin), origin });
    }
    return failures;
  }

  /** `GET /v1/units` without timestamps. */
  list(): Array<{ unit_name: string; status: Status; is_ready: boolean; reason?: string }> {
    return sorted(this.units.keys())
      .filter((name) => this.units.get(name)!.status !== undefined)
      .map((name) => {
        const unit = this.units.get(name)!;
        const entry: { unit_name: string; status: Status; is_ready: boolean; reason?: string } = {
          unit_name: name,
          status: unit.status!,
          is_ready: this.unsatisfiedOf(name).length === 0,
        };
        if (unit.status === "failed") entry.reason = unit.reason ?? "";
        return entry;
      });
  }

  /** `GET /v1/graph`, units and edges sorted. */
  graph(): {
    units: Array<{ unit_name: string; status: Status | "not registered"; reason?: string }>;
    edges: Array<{ unit_name: string; depends_on: string; requires: Requirement; is_satisfied: boolean }>;
  } {
    const names = new Set<string>();
    const edges = [];
    for (const [name, unit] of this.units) {
      if (unit.status === undefined) continue;
      names.add(name);
      for (const [dependency, requires] of unit.dependencies) {
        names.add(dependency);
        const is_satisfied = satisfies(requires, this.statusOf(dependency));
        edges.push({ unit_name: name, depends_on: dependency, requires, is_satisfied });
      }
    }
    const units = sorted(names).map((name) => {
      const unit = this.units.get(name);
      const entry: { unit_name: string; status: Status | "not registered"; reason?: string } = {
        unit_name: name,
        status: unit?.status ?? "not registered",
      };
      if (unit?.status === "failed") entry.reason = unit.reason ?? "";
      return entry;
    });
    edges.sort((a, b) => (`${a.unit_name} ${a.depends_on}` < `${b.unit_name} ${b.depends_on}` ? -1 : 1));
    return { units, edges };
  }

  /** The starts waiting now, as `{unit, holder}`, sorted by unit. */
  waiting(): Array<{ unit: string; holder: number }> {
    return sorted(this.units.keys())
      .filter((name) => this.units.get(name)!.holder !== undefined)
      .map((name) => ({ unit: name, holder: this.units.get(name)!.holder! }));
  }

  unsatisfiedOf(name: string): string[] {
    const unsatisfied: string[] = [];
    for (const [dependency, requires] of this.units.get(name)?.dependencies ?? []) {
      if (!satisfies(requires, this.statusOf(dependency))) unsatisfied.push(dependency);
    }
    return unsatisfied.sort();
  }

  private unit(name: string): ModelUnit {
    let unit = this.units.get(name);
    if (!unit) {
      unit = { status: undefined, reason: undefined, propagated: false, origin: undefined, dependencies: new Map(), holder: undefined, waitedFor: [] };
      this.units.set(name, unit);
    }
    return unit;
  }

  private register(name: string, effects: string[]): void {
    const unit = this.unit(name);
    if (unit.status !== undefined) return;
    unit.status = "pending";
    effects.push(`registered ${name}`);
  }

  /** True when `from` reaches `to` over declared edges (a name reaches itself). */
  private reaches(from: string, to: string): boolean {
    const seen = new Set<string>();
    const stack = [from];
    while (stack.length > 0) {
      const current = stack.pop()!;
      if (current === to) return true;
      if (seen.has(current)) continue;
      seen.add(current);
      stack.push(...(this.units.get(current)?.dependencies.keys() ?? []));
    }
    return false;
  }

  private want(name: string, dependencies: string[], requires: Requirement): Step {
    const unique = [...new Set(dependencies)];
    const codes = new Set<string>();
    for (const dependency of unique) {
      const declared = this.units.get(name)?.dependencies.get(dependency);
      if (declared !== undefined && declared !== requires) codes.add("conflict");
      if (this.reaches(dependency, name)) codes.add("cycle");
    }
    if (codes.size > 0) return { prediction: { error: [...codes] }, effects: [], releases: [] };
    const effects: string[] = [];
    const releases: Release[] = [];
    this.register(name, effects);
    const unit = this.unit(name);
    const added = unique.filter((dependency) => !unit.dependencies.has(dependency));
    for (const dependency of added) {
      unit.dependencies.set(dependency, requires);
      this.unit(dependency);
    }
    if (added.length > 0) effects.push(`dependencies ${name} [${sorted(added)}] ${requires}`);
    if (unit.status === "pending" && added.some((dependency) => impossible(requires, this.statusOf(dependency)))) {
      this.failDownstream(name, true, "", effects, releases);
    }
    this.settle(effects, releases);
    return { prediction: { ok: { unit_name: name, dependencies: unique } }, effects, releases };
  }

  private start(name: string, holder: number): Step {
    const unit = this.units.get(name);
    if (unit?.holder !== undefined) return refused("conflict");
    if (unit?.status === "started" || unit?.status === "completed") return refused("wrong_state");
    const effects: string[] = [];
    const releases: Release[] = [];
    if (unit?.status === "failed") {
      for (const [dependency, requires] of unit.dependencies) {
        if (impossible(requires, this.statusOf(dependency))) return refused("dependency_failed");
      }
      this.rearm(name, effects);
    }
    this.register(name, effects);
    const unsatisfied = this.unsatisfiedOf(name);
    effects.push(`start_requested ${name} [${unsatisfied}]`);
    if (unsatisfied.length > 0) {
      const waiting = this.unit(name);
      waiting.holder = holder;
      waiting.waitedFor = unsatisfied;
      return { prediction: { waiting: unsatisfied }, effects, releases };
    }
    this.setStatus(name, "started", effects);
    const dependencies = sorted(this.unit(name).dependencies.keys());
    this.settle(effects, releases);
    return { prediction: { started: { dependencies, waited_for: [] } }, effects, releases };
  }

  private complete(name: string): Step {
    const status = this.statusOf(name);
    if (status === undefined) return refused("not_registered");
    if (status === "completed" || status === "failed") return refused("wrong_state");
    const effects: string[] = [];
    const releases: Release[] = [];
    this.endWaiter(name, { type: "error", code: "wrong_state" }, releases);
    this.setStatus(name, "completed", effects);
    this.settle(effects, releases);
    return { prediction: { ok: { unit_name: name, status: "completed" } }, effects, releases };
  }

  private fail(name: string, reason: string): Step {
    const status = this.statusOf(name);
    if (status === "completed") return refused("wrong_state");
    if (status === "failed" && !this.units.get(name)!.propagated) return refused("wrong_state");
    const effects: string[] = [];
    const releases: Release[] = [];
    this.register(name, effects);
    this.failDownstream(name, false, reason, effects, releases);
    this.settle(effects, releases);
    return { prediction: { ok: { unit_name: name, status: "failed", reason } }, effects, releases };
  }

  /** Fails `name`, then every pending unit whose requirement that makes impossible, transitively. */
  private failDownstream(name: string, propagated: boolean, reason: string, effects: string[], releases: Release[]): void {
    const failOne = (unitName: string, isPropagated: boolean, own: string) => {
      // A propagated failure takes the first failed dependency's; the server's choice is adopted later.
      const inherited = isPropagated ? this.propagatedFailures(unitName)[0] : undefined;
      const why = isPropagated ? (inherited?.reason ?? "") : own;
      const unit = this.unit(unitName);
      const from = unit.status;
      unit.status = "failed";
      unit.propagated = isPropagated;
      unit.reason = why;
      unit.origin = isPropagated ? inherited?.origin : { unit: unitName, reason: own, depth: 0 };
      effects.push(isPropagated ? `${unitName} ${from}->failed propagated` : `${unitName} ${from}->failed own ${JSON.stringify(why)}`);
      this.endWaiter(
        unitName,
        isPropagated ? { type: "error", code: "dependency_failed" } : { type: "error", code: "wrong_state" },
        releases,
      );
    };
    failOne(name, propagated, reason);
    const work = [name];
    for (let next = work.shift(); next !== undefined; next = work.shift()) {
      for (const [dependentName, dependent] of this.units) {
        const requires = dependent.dependencies.get(next);
        if (requires === undefined || !impossible(requires, "failed") || dependent.status !== "pending") continue;
        failOne(dependentName, true, "");
        work.push(dependentName);
      }
    }
  }

  /** failed -> pending for `name`, then for every unit downstream left with no failed requirement. */
  private rearm(name: string, effects: string[]): void {
    const reopen = (unitName: string) => {
      const unit = this.unit(unitName);
      unit.status = "pending";
      unit.reason = undefined;
      unit.propagated = false;
      unit.origin = undefined;
      effects.push(`${unitName} failed->pending`);
    };
    reopen(name);
    const work = [name];
    for (let next = work.shift(); next !== undefined; next = work.shift()) {
      for (const [dependentName, dependent] of this.units) {
        if (!dependent.dependencies.has(next) || dependent.status !== "failed" || !dependent.propagated) continue;
        if (this.propagatedReasons(dependentName).length > 0) continue;
        reopen(dependentName);
        work.push(dependentName);
      }
    }
  }

  /** Releases every waiting start whose dependencies are all satisfied, until none is left. */
  private settle(effects: string[], releases: Release[]): void {
    for (let changed = true; changed; ) {
      changed = false;
      for (const [name, unit] of this.units) {
        if (unit.holder === undefined || unit.status !== "pending" || this.unsatisfiedOf(name).length > 0) continue;
        releases.push({
          holder: unit.holder,
          unit: name,
          line: { type: "started", dependencies: sorted(unit.dependencies.keys()), waited_for: unit.waitedFor },
        });
        unit.holder = undefined;
        this.setStatus(name, "started", effects);
        changed = true;
      }
    }
  }

  private endWaiter(name: string, line: FinalLine, releases: Release[]): void {
    const unit = this.units.get(name);
    if (unit?.holder === undefined) return;
    releases.push({ holder: unit.holder, unit: name, line });
    unit.holder = undefined;
  }

  private setStatus(name: string, to: Status, effects: string[]): void {
    const unit = this.unit(name);
    effects.push(`${name} ${unit.status}->${to}`);
    unit.status = to;
  }
}

function refused(code: string): Step {
  return { prediction: { error: [code] }, effects: [], releases: [] };
}

/** Whether an observed answer is one the model allows. */
export function answerMatches(prediction: Prediction, answer: Answer): boolean {
  if ("error" in prediction) return "error" in answer && prediction.error.includes(answer.error);
  return Bun.deepEquals(prediction, answer, true);
}
