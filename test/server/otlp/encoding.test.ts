import { describe, expect, test } from "bun:test";
import { UnitGraph } from "../../../src/graph/index.ts";
import { otlpJson, SCOPE, type TraceExport } from "../../../src/server/otlp/json.ts";
import { otlpProtobuf } from "../../../src/server/otlp/protobuf.ts";
import { startupSpans, type TraceIds, type TraceSpan } from "../../../src/server/otlp/trace.ts";
import { decodeProtobuf, normalize, officialJson, officialProtobuf } from "./_official.ts";

const TRACE = "4c1c795bddc7a15ce8e10794face81b7";
const ids = (parent?: string): TraceIds => ({
  traceId: TRACE,
  rootSpanId: "a83397667eef558b",
  parentSpanId: parent,
  spanOf: (unit) => Bun.hash(unit).toString(16).padStart(16, "0").slice(0, 16),
});

/**
 * A start-up on a clock that moves 1.5 ms a step: a clone, dependencies that need it and
 * fail, an editor that needs the clone started and still runs, an agent failed by the
 * dependencies while a name nobody registered is still missing.
 */
function startup(): UnitGraph {
  let now = 1_796_456_038_000;
  const graph = new UnitGraph({ clock: () => (now += 1.5) });
  graph.declareDependencies("install-deps", ["git-clone"], "success");
  graph.declareDependencies("ai-agent", ["git-clone", "install-deps"], "success");
  graph.declareDependencies("editor", ["git-clone"], "started");
  graph.declareDependencies("ai-agent", ["gti-typo"], "completion");
  graph.requestStart("git-clone");
  graph.start("git-clone");
  graph.requestStart("install-deps");
  graph.requestStart("editor");
  graph.start("editor");
  graph.complete("git-clone");
  graph.start("install-deps");
  graph.fail("install-deps", "exit code 1 — «npm ci» failed");
  return graph;
}

const ALL = { root: true, unit: () => true, settled: "shutdown" };

function batch(spans: TraceSpan[]): TraceExport {
  return {
    resource: [
      { key: "service.name", value: "workspace-boot" },
      { key: "process.pid", value: { int: 4242 } },
      { key: "deployment.environment", value: "ci" },
    ],
    scope: SCOPE,
    spans,
  };
}

describe("our encoders write what the official OpenTelemetry JS encoders write", () => {
  const cases = [
    ["a start-up with a failure, links, requirements and a missing name", () => startupSpans(startup().units(), ids(), 1_796_456_039_000, ALL)],
    ["a start-up whose root has a remote parent", () => startupSpans(startup().units(), ids("b7ad6b7169203331"), 1_796_456_039_000, ALL)],
    ["a root span alone", () => startupSpans([], ids(), 1_796_456_039_000, ALL)],
  ] as const;

  test.each(cases)("protobuf: %s", (_name, spans) => {
    const ours = batch(spans());
    expect(decodeProtobuf(otlpProtobuf(ours))).toEqual(decodeProtobuf(officialProtobuf(ours)));
  });

  test.each(cases)("JSON: %s", (_name, spans) => {
    const ours = batch(spans());
    expect(normalize(JSON.parse(JSON.stringify(otlpJson(ours))))).toEqual(officialJson(ours));
  });

  test("the comparison sees a difference: a changed attribute does not pass", () => {
    const ours = batch(startupSpans(startup().units(), ids(), 1_796_456_039_000, ALL));
    const changed = batch(startupSpans(startup().units(), ids(), 1_796_456_039_001, ALL));
    expect(decodeProtobuf(otlpProtobuf(ours))).not.toEqual(decodeProtobuf(officialProtobuf(changed)));
  });
});

describe("the spans of a start-up", () => {
  const now = 1_796_456_039_000;
  const spans = startupSpans(startup().units(), ids(), now, ALL);
  const unitSpan = (name: string) => spans.find((s) => s.name === name && s.parentSpanId === ids().rootSpanId)!;
  const children = (span: TraceSpan) => spans.filter((s) => s.parentSpanId === span.spanId);
  const attributes = (span: TraceSpan) => Object.fromEntries(span.attributes.map((a) => [a.key, a.value]));

  test("a root span with the start-up's figures, and one child per registered unit", () => {
    const root = spans[0]!;
    expect(root.name).toBe("start-up");
    expect(attributes(root)).toEqual({
      "unitsync.startup.units": { int: 4 },
      "unitsync.startup.failed": { int: 2 },
      "unitsync.startup.settled": "shutdown",
      "unitsync.startup.critical_path": expect.any(Array),
      "unitsync.startup.missing": ["gti-typo"],
    });
    expect(root.status).toEqual({ code: 2, message: "2 of 4 units failed" });
    expect(children(root).map((s) => s.name).sort()).toEqual(["ai-agent", "editor", "git-clone", "install-deps"]);
  });

  test.each([
    ["git-clone", [["wait", 0], ["run", 1]], 1],
    ["install-deps", [["wait", 0], ["run", 2]], 2],
    ["editor", [["wait", 0], ["run", 0]], 0],
    ["ai-agent", [], 2],
  ] as const)("%s: its wait and run spans, and its status", (name, phases, code) => {
    const span = unitSpan(name);
    expect(children(span).map((s) => [s.name, s.status.code])).toEqual(phases.map((p) => [...p]));
    expect(span.status.code).toBe(code);
    for (const child of children(span)) {
      expect(child.start).toBeGreaterThanOrEqual(span.start);
      expect(child.end).toBeLessThanOrEqual(span.end);
    }
  });

  test("attributes: status, reason, waited time, each edge's requirement; in progress until now", () => {
    expect(attributes(unitSpan("ai-agent"))).toEqual({
      "unitsync.unit.name": "ai-agent",
      "unitsync.unit.status": "failed",
      "unitsync.unit.reason": 'dependency "install-deps" failed: exit code 1 — «npm ci» failed',
      "unitsync.unit.dependencies": ["git-clone", "install-deps", "gti-typo"],
      "unitsync.unit.requirements": ["success", "success", "completion"],
    });
    const editor = attributes(unitSpan("editor"));
    expect(editor["unitsync.unit.in_progress"]).toBe(true);
    expect(unitSpan("editor").end).toBe(BigInt(now) * 1_000_000n);
    expect(editor["unitsync.unit.waited_ms"]).toEqual({ double: 1.5 });
  });

  test("each edge to a registered unit is a link to that unit's span, with its requirement", () => {
    expect(unitSpan("ai-agent").links).toEqual([
      { traceId: TRACE, spanId: unitSpan("git-clone").spanId, attributes: [{ key: "unitsync.dependency.name", value: "git-clone" }, { key: "unitsync.dependency.requires", value: "success" }] },
      { traceId: TRACE, spanId: unitSpan("install-deps").spanId, attributes: [{ key: "unitsync.dependency.name", value: "install-deps" }, { key: "unitsync.dependency.requires", value: "success" }] },
    ]);
    expect(unitSpan("editor").links.map((l) => l.attributes[1]!.value)).toEqual(["started"]);
  });

  test("a selection leaves out the root and units already sent", () => {
    const later = startupSpans(startup().units(), ids(), now, { root: false, unit: (u) => u.name === "editor", settled: "quiet" });
    expect(later.map((s) => s.name)).toEqual(["editor", "wait", "run"]);
  });
});
