// The official OpenTelemetry JS encoders and decoder (devDependencies, for tests only), fed the
// same spans as ours, so each test can compare what both write.
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import root from "@opentelemetry/otlp-transformer/build/src/generated/root.js";
import { resourceFromAttributes } from "@opentelemetry/resources";
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { TraceExport } from "../../../src/server/otlp/json.ts";
import type { Attribute, AttributeValue } from "../../../src/server/otlp/trace.ts";

type Proto = {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: object): Record<string, unknown>;
};
const REQUEST = (root as any).opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest as Proto;

/** OTLP/protobuf bytes decoded with the official definitions: ids and bytes as hex, 64-bit numbers as strings. */
export function decodeProtobuf(bytes: Uint8Array): Record<string, unknown> {
  const object = REQUEST.toObject(REQUEST.decode(bytes), { longs: String, bytes: Array });
  return normalize(object) as Record<string, unknown>;
}

/** Our spans, as the official SDK's ReadableSpans of the same ids, times, attributes and links. */
function readableSpans({ resource, scope, spans }: TraceExport): ReadableSpan[] {
  const officialResource = resourceFromAttributes(plain(resource));
  return spans.map((span) => {
    const context = { traceId: span.traceId, spanId: span.spanId, traceFlags: 1 };
    return {
      name: span.name,
      kind: 0, // INTERNAL in the API's numbering; OTLP's is one more
      spanContext: () => context,
      parentSpanContext: span.parentSpanId === undefined ? undefined : { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: 1, isRemote: span.remoteParent },
      startTime: hrTime(span.start),
      endTime: hrTime(span.end),
      duration: hrTime(span.end - span.start),
      ended: true,
      status: span.status,
      attributes: plain(span.attributes),
      links: span.links.map((link) => ({ context: { traceId: link.traceId, spanId: link.spanId, traceFlags: 1 }, attributes: plain(link.attributes) })),
      events: [],
      resource: officialResource,
      instrumentationScope: scope,
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    } as unknown as ReadableSpan;
  });
}

export function officialProtobuf(batch: TraceExport): Uint8Array {
  return ProtobufTraceSerializer.serializeRequest(readableSpans(batch))!;
}

export function officialJson(batch: TraceExport): Record<string, unknown> {
  return normalize(JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest(readableSpans(batch))!))) as Record<string, unknown>;
}

/**
 * What both sides mean, written one way: fields at their default (0, empty) left out as
 * protobuf does, ids as hex, 64-bit integers as decimal strings (proto3 JSON accepts both).
 */
export function normalize(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item === "number") && /Id$/.test(key)) return Buffer.from(value).toString("hex");
    return value.map((item) => normalize(item));
  }
  if (typeof value !== "object" || value === null) return key === "intValue" ? String(value) : value;
  // The official API takes JS numbers and writes a whole one as an int; we write durations as
  // doubles whatever their value, so one attribute keeps one type. Both mean the same number.
  const double = (value as { doubleValue?: unknown }).doubleValue;
  if (Object.keys(value).length === 1 && Number.isInteger(double)) return { intValue: String(double) };
  const result: Record<string, unknown> = {};
  for (const [field, inner] of Object.entries(value)) {
    const isValue = field === "intValue" || field === "doubleValue";
    if ((inner === 0 && !isValue) || (Array.isArray(inner) && inner.length === 0) || inner === undefined) continue;
    result[field] = normalize(inner, field);
  }
  return result;
}

function plain(attributes: Attribute[]): Record<string, string | number | boolean | string[]> {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, plainValue(value)]));
}

function plainValue(value: AttributeValue): string | number | boolean | string[] {
  if (typeof value === "string" || typeof value === "boolean" || Array.isArray(value)) return value;
  return "int" in value ? value.int : value.double;
}

function hrTime(nanos: bigint): [number, number] {
  return [Number(nanos / 1_000_000_000n), Number(nanos % 1_000_000_000n)];
}
