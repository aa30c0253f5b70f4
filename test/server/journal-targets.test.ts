// Targets and `first` in the journal: a restarted server rebuilds them, implicit edges and
// the set-up phase included, with the same changes in the same order.
import { expect, test } from "bun:test";
import type { GraphChange } from "../../src/graph/index.ts";
import { OperationLog, type JournalRecord } from "../../src/server/journal.ts";
import { JournaledGraph } from "../../src/server/journaled-graph.ts";

function journaled(records: JournalRecord[] = []) {
  let now = 1_000;
  const operations = new OperationLog(() => (now += 1.5), (record) => records.push(structuredClone(record)));
  const graph = new JournaledGraph({}, operations);
  const changes: GraphChange[] = [];
  graph.subscribe((change) => changes.push(change));
  return { graph, operations, records, changes };
}

test("targets, first units and their implicit edges replay to the same graph", () => {
  const first = journaled();
  const { graph } = first;
  graph.declareDependencies("claude", ["git-clone"]);
  graph.declareFirst("apt-mirror");
  graph.declareTarget("git-clone", ["fetch", "checkout"]);
  graph.register("network");
  graph.declareDependencies("apt-mirror", ["network"]);
  for (const unit of ["network", "apt-mirror"]) {
    graph.start(unit);
    graph.complete(unit);
  }
  graph.start("fetch");
  graph.complete("fetch");
  graph.declareTarget("git-clone", ["hook"]);
  expect(first.records.map((r) => r.op)).toContain("declareFirst");
  const second = journaled();
  for (const record of first.records) second.operations.replay(second.graph, record);
  expect(second.graph.units()).toEqual(graph.units());
  expect(second.changes).toEqual(first.changes);
  // The set-up phase came back too: a unit registered now does not hold network back.
  second.graph.register("late");
  expect(second.graph.dependenciesOf("network")).toEqual([]);
  expect(second.graph.dependenciesOf("late").map((d) => [d.dependsOn, d.implicit])).toEqual([["apt-mirror", "first"]]);
});
