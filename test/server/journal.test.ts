// The journal's lines and their reading, and the replay of a graph's operations: what a
// restarted server rebuilds must be what the last one had, and a damaged journal is either
// read up to its last whole line or not trusted at all.
import { describe, expect, test } from "bun:test";
import type { GraphChange } from "../../src/graph/index.ts";
import {
  currentHeader,
  journalLine,
  OperationLog,
  readJournal,
  UnusableJournal,
  type JournalHeader,
  type JournalRecord,
} from "../../src/server/journal.ts";
import { JournaledGraph } from "../../src/server/journaled-graph.ts";

const HEADER: JournalHeader = currentHeader("unitsync", (path) => (path.includes("boot_id") ? "boot-1\n" : "1 (init) S 0 " + "0 ".repeat(17) + "4242 0"));

/** A graph whose operations are journaled into `records`, on a clock that steps by 1.5 ms. */
function journaled(records: JournalRecord[] = []) {
  let now = 1_000;
  const operations = new OperationLog(() => (now += 1.5), (record) => records.push(structuredClone(record)));
  const graph = new JournaledGraph({}, operations);
  const changes: GraphChange[] = [];
  graph.subscribe((change) => changes.push(change));
  return { graph, operations, records, changes };
}

/** A small start-up: a chain, a failure that propagates, a start that waits and one that runs. */
function someStartUp(graph: JournaledGraph): void {
  graph.declareDependencies("app", ["db", "cache"]);
  graph.declareDependencies("web", ["app"], "started");
  graph.register("db");
  graph.requestStart("db");
  graph.start("db");
  graph.complete("db");
  graph.declareDependencies("report", ["lint"], "completion");
  graph.register("lint");
  graph.fail("lint", "exit code 3");
  graph.declareDependencies("deploy", ["lint"]);
  graph.requestStart("app");
  graph.register("cache");
  graph.register("cache"); // changes nothing: not recorded
}

describe("replay", () => {
  test("rebuilds the units, times and every change, in order", () => {
    const first = journaled();
    someStartUp(first.graph);
    const second = journaled();
    for (const record of first.records) second.operations.replay(second.graph, record);
    expect(second.graph.units()).toEqual(first.graph.units());
    expect(second.changes).toEqual(first.changes);
    expect(second.records).toEqual([]);
  });

  test("an operation that changed nothing, or was refused, is not recorded", () => {
    const { graph, records } = journaled();
    graph.register("a");
    graph.register("a");
    expect(() => graph.declareDependencies("a", ["a"])).toThrow();
    expect(() => graph.complete("nobody")).toThrow();
    expect(records.map((r) => r.op)).toEqual(["register"]);
  });

  test("an operation inside another is part of it, not a record of its own", () => {
    const { graph, records } = journaled();
    graph.declareDependencies("a", ["b"]); // registers a on the way
    expect(records).toEqual([{ op: "declareDependencies", args: ["a", ["b"], "success"], t: expect.any(Array) }]);
  });

  test("a record that does not replay is refused (the server then starts empty)", () => {
    const { graph, operations } = journaled();
    expect(() => operations.replay(graph, { op: "complete", args: ["ghost"], t: [] })).toThrow(UnusableJournal);
    expect(() => operations.replay(graph, { op: "register", args: ["a"], t: [] })).toThrow(/more clock readings/);
    const fresh = journaled();
    expect(() => fresh.operations.replay(fresh.graph, { op: "register", args: ["a"], t: [1, 2, 3] })).toThrow(/fewer clock readings/);
  });
});

describe("reading a journal", () => {
  const { graph, records } = journaled();
  someStartUp(graph);
  const text = journalLine(HEADER) + records.map(journalLine).join("");
  const lines = text.split("\n").slice(0, -1);
  const lastStart = text.length - lines.at(-1)!.length - 1;

  test("takes every record back", () => {
    expect(readJournal(text, HEADER)).toEqual({ header: HEADER, records, torn: false });
  });

  test("cut at every byte of its last record, takes what was whole", () => {
    for (let end = lastStart; end < text.length; end++) {
      const read = readJournal(text.slice(0, end), HEADER);
      expect(read.records).toEqual(records.slice(0, -1));
      expect(read.torn).toBe(end > lastStart);
    }
  });

  test("with any byte of its last record changed, takes what was whole", () => {
    for (let at = lastStart; at < text.length; at++) {
      const damaged = text.slice(0, at) + (text[at] === "x" ? "y" : "x") + text.slice(at + 1);
      const read = readJournal(damaged, HEADER);
      expect(read.records).toEqual(records.slice(0, -1));
      expect(read.torn).toBe(true);
    }
  });

  test("damaged before its last line, is not trusted at all", () => {
    const second = text.indexOf("\n") + 5;
    const damaged = text.slice(0, second) + "x" + text.slice(second + 1);
    expect(() => readJournal(damaged, HEADER)).toThrow(/line 2 is damaged/);
  });

  test("from another version, rules, boot or container, is not trusted", () => {
    const cases: [Partial<JournalHeader>, RegExp][] = [
      [{ version: "0.0.1" }, /written by unitsync 0\.0\.1/],
      [{ rules: "coder" }, /under coder's rules/],
      [{ boot: "boot-0" }, /earlier boot/],
      [{ init: "17" }, /earlier start of this container/],
      [{ format: 99 }, /not a unitsync journal of this format/],
    ];
    for (const [change, why] of cases) {
      const other = journalLine({ ...HEADER, ...change }) + text.slice(text.indexOf("\n") + 1);
      expect(() => readJournal(other, HEADER)).toThrow(why);
    }
  });

  test("that is not a journal at all, is not trusted", () => {
    expect(() => readJournal("", HEADER)).toThrow(/no header/);
    expect(() => readJournal("hello\nworld\n", HEADER)).toThrow(/first line/);
    expect(() => readJournal(journalLine(HEADER) + journalLine({ op: "drop", args: [], t: [] } as never) + journalLine(records[0]!), HEADER)).toThrow(
      /line 2 is not an operation/,
    );
  });
});

test("the header names this machine's boot and the start of its pid 1", () => {
  expect(HEADER.boot).toBe("boot-1");
  expect(HEADER.init).toBe("4242");
  const unreadable = currentHeader("coder", () => undefined);
  expect(unreadable).toMatchObject({ rules: "coder", boot: "", init: "" });
});

describe("a start that resumes after a gap", () => {
  test("is answered started when the unit is started already (the old server started it for the client), refused otherwise", async () => {
    const { testServer } = await import("../helpers.ts");
    const { UnitsyncClient } = await import("../../src/client/index.ts");
    await using server = await testServer();
    const client = new UnitsyncClient(server.socketPath);
    await client.start("app", { timeoutMs: 0 });
    const post = (body: object) =>
      fetch("http://unitsync/v1/units/app/start", { method: "POST", unix: server.socketPath, body: JSON.stringify(body) } as RequestInit).then(
        async (r) => ({ status: r.status, text: await r.text() }),
      );
    const resumed = await post({ resume: true });
    expect({ status: resumed.status, line: JSON.parse(resumed.text) }).toEqual({
      status: 200,
      line: { type: "started", dependencies: [], waited_for: [], traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/) },
    });
    expect((await post({})).status).toBe(409);
    expect((await post({ resume: "yes" })).text).toContain('must be true or false');
  });
});

// Targets and `first` in the journal: a restarted server rebuilds them, implicit edges and
// the set-up phase included, with the same changes in the same order.
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
