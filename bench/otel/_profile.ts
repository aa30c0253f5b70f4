import { UnitGraph } from "../../src/graph/index.ts";
import { otlpJson, SCOPE } from "../../src/server/otlp/json.ts";
import { otlpProtobuf } from "../../src/server/otlp/protobuf.ts";
import { StartupTracer } from "../../src/server/tracer.ts";
import { buildTimeline } from "../../src/graph/index.ts";
import { chainStartup } from "./_chain.ts";
for (const units of [1000, 10000]) {
  const graph = new UnitGraph({ clock: chainStartup.clock() });
  const tracer = new StartupTracer(graph, () => chainStartup.now);
  chainStartup.run(graph, units);
  for (let k = 0; k < 3; k++) {
    let t = performance.now();
    const summaries = graph.units();
    const a = performance.now() - t; t = performance.now();
    buildTimeline(summaries, chainStartup.now);
    const b = performance.now() - t; t = performance.now();
    const spans = tracer.snapshot();
    const c = performance.now() - t; t = performance.now();
    const pb = otlpProtobuf({ resource: [], scope: SCOPE, spans });
    const d = performance.now() - t; t = performance.now();
    const js = JSON.stringify(otlpJson({ resource: [], scope: SCOPE, spans }));
    const e = performance.now() - t;
    console.log(units, `units() ${a.toFixed(1)} timeline ${b.toFixed(1)} spans ${c.toFixed(1)} protobuf ${d.toFixed(1)} (${pb.length}) json ${e.toFixed(1)} (${js.length})`);
  }
}
