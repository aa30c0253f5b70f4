import { expect, test } from "bun:test";
import { UnitGraph } from "../../../src/graph/index.ts";
import type { TraceSpan } from "../../../src/server/otlp/trace.ts";
import { StartupTracer } from "../../../src/server/tracer.ts";
import { waitUntil } from "../../helpers.ts";

/** A tracer that records its batches, settling as soon as every unit ended. */
function traced(options: { settleAfterMs?: number } = {}) {
  const graph = new UnitGraph({ clock: () => performance.timeOrigin + performance.now() });
  const batches: { spans: TraceSpan[]; settled: string }[] = [];
  const tracer = new StartupTracer(graph, () => performance.timeOrigin + performance.now(), {
    ...options,
    graceMs: 0,
    onSettled: (spans, settled) => batches.push({ spans, settled }),
  });
  return { graph, tracer, batches };
}

const unitNames = (spans: TraceSpan[], root: string) => spans.filter((s) => s.parentSpanId === root).map((s) => s.name);

test("a start-up that settles after every unit sends each span once, the root first, and each later batch holds only what ended since", async () => {
  const { graph, tracer, batches } = traced();
  const units = 300;
  for (let i = 0; i < units; i++) {
    if (i > 0) graph.declareDependencies(`u${i}`, [`u${i - 1}`]);
    graph.requestStart(`u${i}`);
    graph.start(`u${i}`);
    graph.complete(`u${i}`);
    await waitUntil(() => batches.length === i + 1, 5_000, `batch ${i + 1}`);
  }
  expect(batches[0]!.spans.map((s) => s.name)).toEqual(["start-up", "u0", "wait", "run"]);
  for (const [i, batch] of batches.entries()) {
    if (i > 0) expect(batch.spans.map((s) => s.name)).toEqual([`u${i}`, "wait", "run"]);
    expect(batch.settled).toBe("all units ended");
  }
  // Each link points at the span sent in the batch before.
  expect(batches[5]!.spans[0]!.links.map((l) => l.spanId)).toEqual([batches[4]!.spans[0]!.spanId]);
  tracer.shutdown();
  expect(batches.length).toBe(units);
});

test("a quiet start-up sends what ended; shutdown sends the rest as in progress; ids stay those handed out", async () => {
  const { graph, tracer, batches } = traced({ settleAfterMs: 1 });
  graph.requestStart("db");
  graph.start("db");
  graph.complete("db");
  graph.declareDependencies("web", ["db"]);
  graph.requestStart("web");
  graph.start("web");
  const handedOut = tracer.traceparentOf("web");
  await waitUntil(() => batches.length === 1, 5_000, "the quiet batch");
  expect(batches[0]!.settled).toBe("quiet");
  expect(unitNames(batches[0]!.spans, tracer.rootSpanId)).toEqual(["db"]);
  tracer.shutdown();
  expect(batches[1]!.settled).toBe("shutdown");
  const web = batches[1]!.spans.find((s) => s.name === "web")!;
  expect(handedOut).toBe(`00-${tracer.traceId}-${web.spanId}-01`);
  expect(web.attributes).toContainEqual({ key: "unitsync.unit.in_progress", value: true });
  expect(batches[1]!.spans.map((s) => s.name)).toEqual(["web", "wait", "run"]);
});

test("without an exporter the tracer only holds ids: no batch, the server's TRACEPARENT parents the root", () => {
  const graph = new UnitGraph();
  const tracer = new StartupTracer(graph, () => 0, { parent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
  graph.requestStart("a");
  expect(tracer.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
  expect(tracer.parentSpanId).toBe("b7ad6b7169203331");
  expect(tracer.traceparentOf("a")).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
  expect(tracer.traceparentOf("a")).toBe(tracer.traceparentOf("a"));
  expect(new StartupTracer(graph, () => 0, { parent: "00-zz-b7ad6b7169203331-01" }).parentSpanId).toBeUndefined();
});

test("span ids: one per unit, kept until a retry after the span was sent, then a new one", async () => {
  const { graph, tracer, batches } = traced();
  const names = Array.from({ length: 1_000 }, (_, i) => `u${i}`);
  const ids = names.map((name) => tracer.spanOf(name));
  expect({ distinct: new Set(ids).size, hex: ids.every((id) => /^[0-9a-f]{16}$/.test(id) && id !== "0".repeat(16)), again: tracer.spanOf("u0") }).toEqual({
    distinct: 1_000,
    hex: true,
    again: ids[0]!,
  });
  expect(new StartupTracer(new UnitGraph(), () => 0).spanOf("u0")).not.toBe(ids[0]);
  graph.requestStart("u0");
  graph.start("u0");
  graph.fail("u0", "boom");
  await waitUntil(() => batches.length === 1, 5_000, "the first batch");
  expect(batches[0]!.spans.find((s) => s.name === "u0")!.spanId).toBe(ids[0]!);
  graph.requestStart("u0");
  expect({ renewed: tracer.spanOf("u0") !== ids[0], stable: tracer.spanOf("u0") === tracer.spanOf("u0"), other: tracer.spanOf("u1") }).toEqual({
    renewed: true,
    stable: true,
    other: ids[1]!,
  });
  tracer.shutdown();
});
