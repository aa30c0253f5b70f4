// The same start-up's trace sent with the official OpenTelemetry JS SDK (sdk-trace-base's
// BasicTracerProvider, a BatchSpanProcessor, exporter-trace-otlp-proto): root, a span per
// unit with its links, and wait and run spans, at the same times. Compiled by bench/otel.ts.
import { context, trace, type Link } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { UnitGraph } from "../../src/graph/index.ts";
import { chainStartup } from "./_chain.ts";

const [units, endpoint] = [Number(process.argv[2]), process.argv[3]!];
const graph = new UnitGraph({ clock: chainStartup.clock() });
chainStartup.run(graph, units);
const provider = new BasicTracerProvider({
  resource: resourceFromAttributes({ "service.name": "unitsync" }),
  spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }), { maxQueueSize: 4 * units + 8, maxExportBatchSize: 4 * units + 8 })],
});
const tracer = provider.getTracer("unitsync", "0.1.0");
const summaries = graph.units();
const first = Math.min(...summaries.map((u) => u.times.registered));
const last = Math.max(...summaries.map((u) => u.times.ended!));
const root = tracer.startSpan("start-up", { startTime: first, attributes: { "unitsync.startup.units": summaries.length } });
const rootContext = trace.setSpan(context.active(), root);
const spanContexts = new Map<string, ReturnType<typeof root.spanContext>>();
for (const unit of summaries) {
  const links: Link[] = unit.dependencies.map((edge) => ({ context: spanContexts.get(edge.dependsOn)!, attributes: { "unitsync.dependency.name": edge.dependsOn, "unitsync.dependency.requires": edge.requires } }));
  const { startRequested, started, ended } = unit.times;
  const span = tracer.startSpan(unit.name, { startTime: startRequested, links: links.filter((l) => l.context), attributes: { "unitsync.unit.name": unit.name, "unitsync.unit.status": unit.status, "unitsync.unit.waited_ms": started! - startRequested! } }, rootContext);
  spanContexts.set(unit.name, span.spanContext());
  const unitContext = trace.setSpan(rootContext, span);
  tracer.startSpan("wait", { startTime: startRequested }, unitContext).end(started);
  tracer.startSpan("run", { startTime: started }, unitContext).end(ended);
  span.setStatus({ code: 1 });
  span.end(ended);
}
root.end(last);
await provider.forceFlush();
await provider.shutdown();
process.exit(0);
