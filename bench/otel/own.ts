// One start-up's trace sent with unitsync's own encoder and exporter: a chain of N units
// (argv[2]) to the collector at argv[3], over OTLP/HTTP protobuf. Compiled by bench/otel.ts.
import { UnitGraph } from "../../src/graph/index.ts";
import { otlpConfig } from "../../src/server/otlp/config.ts";
import { createExporter } from "../../src/server/otlp/exporter.ts";
import { SCOPE } from "../../src/server/otlp/json.ts";
import { StartupTracer } from "../../src/server/tracer.ts";
import { chainStartup } from "./_chain.ts";

const [units, endpoint] = [Number(process.argv[2]), process.argv[3]!];
const graph = new UnitGraph({ clock: chainStartup.clock() });
const tracer = new StartupTracer(graph, () => chainStartup.now);
chainStartup.run(graph, units);
const config = otlpConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
const exporter = createExporter(config, { info() {}, warn: (m) => console.error(m) });
exporter.send({ resource: config.resource, scope: SCOPE, spans: tracer.snapshot() }, "the trace");
await exporter.shutdown(30_000);
process.exit(0);
