import { UnitGraph, type GraphLimits, type GraphRules, type Requirement } from "../graph/index.ts";
import type { OperationLog } from "./journal.ts";

/**
 * The graph, with every operation that changes it passed through the operation log: the
 * server's one graph when it keeps a journal. Reads are the graph's own.
 */
export class JournaledGraph extends UnitGraph {
  constructor(
    options: { limits?: Partial<GraphLimits>; rules?: GraphRules },
    private readonly operations: OperationLog,
  ) {
    super({ ...options, clock: operations.clock });
    this.subscribe(operations.changed);
  }

  override register(unit: string): boolean {
    return this.operations.around("register", [unit], () => super.register(unit));
  }

  override declareDependencies(unit: string, dependencies: readonly string[], requires: Requirement = "success"): string[] {
    return this.operations.around("declareDependencies", [unit, dependencies, requires], () => super.declareDependencies(unit, dependencies, requires));
  }

  override requestStart(unit: string, by?: string): string[] {
    return this.operations.around("requestStart", by === undefined ? [unit] : [unit, by], () => super.requestStart(unit, by));
  }

  override start(unit: string): void {
    this.operations.around("start", [unit], () => super.start(unit));
  }

  override reopen(unit: string): void {
    this.operations.around("reopen", [unit], () => super.reopen(unit));
  }

  override complete(unit: string): void {
    this.operations.around("complete", [unit], () => super.complete(unit));
  }

  override fail(unit: string, reason: string): void {
    this.operations.around("fail", [unit, reason], () => super.fail(unit, reason));
  }

  override declareTarget(target: string, members: readonly string[]): { added: string[]; members: number } {
    return this.operations.around("declareTarget", [target, members], () => super.declareTarget(target, members));
  }

  override declareFirst(unit: string): { held: number; running: number } {
    return this.operations.around("declareFirst", [unit], () => super.declareFirst(unit));
  }
}
