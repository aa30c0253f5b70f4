import { VERSION } from "../../protocol/index.ts";
import { flagsOf, type Attribute, type AttributeValue, type TraceSpan } from "./trace.ts";

// OTLP/JSON (the protobuf JSON mapping with OTLP's exceptions: ids as hex, enums as numbers,
// 64-bit integers as decimal strings), written by hand: see the README's "Traces" section.

/** One export request: the resource and scope every span shares, and the spans. */
export interface TraceExport {
  resource: Attribute[];
  scope: { name: string; version: string };
  spans: TraceSpan[];
}

/** The instrumentation scope of every span: unitsync itself. */
export const SCOPE = { name: "unitsync", version: VERSION };

/** The `ExportTraceServiceRequest` as OTLP/JSON's object. */
export function otlpJson({ resource, scope, spans }: TraceExport): object {
  return {
    resourceSpans: [
      {
        resource: { attributes: resource.map(attribute) },
        scopeSpans: [{ scope: { name: scope.name, version: scope.version }, spans: spans.map(span) }],
      },
    ],
  };
}

function span(s: TraceSpan): object {
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    ...(s.parentSpanId !== undefined && { parentSpanId: s.parentSpanId }),
    name: s.name,
    // SPAN_KIND_INTERNAL: a start-up is neither served nor called.
    kind: 1,
    startTimeUnixNano: String(s.start),
    endTimeUnixNano: String(s.end),
    attributes: s.attributes.map(attribute),
    links: s.links.map((link) => ({ traceId: link.traceId, spanId: link.spanId, attributes: link.attributes.map(attribute), flags: flagsOf(false) })),
    status: { code: s.status.code, ...(s.status.message !== undefined && { message: s.status.message }) },
    flags: flagsOf(s.remoteParent),
  };
}

function attribute({ key, value }: Attribute): object {
  return { key, value: anyValue(value) };
}

function anyValue(value: AttributeValue | string): object {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map((item) => anyValue(item)) } };
  if ("int" in value) return { intValue: String(value.int) };
  return { doubleValue: value.double };
}
