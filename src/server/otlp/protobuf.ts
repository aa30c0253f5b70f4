import type { TraceExport } from "./json.ts";
import { flagsOf, type Attribute, type AttributeValue, type TraceSpan } from "./trace.ts";

// OTLP/protobuf's ExportTraceServiceRequest, written by hand with the field numbers of
// opentelemetry-proto's trace.proto, common.proto and resource.proto (checked against the
// official decoder in test/server/otlp.test.ts). Only what our spans use is written.

/** A growing byte buffer with protobuf's wire types. */
class Writer {
  private bytes = new Uint8Array(256);
  length = 0;

  private room(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  varint(value: number | bigint): void {
    let rest = BigInt(value);
    this.room(10);
    while (rest > 0x7fn) {
      this.bytes[this.length++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.bytes[this.length++] = Number(rest);
  }

  tag(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }

  raw(data: Uint8Array): void {
    this.room(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }

  done(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

const utf8 = new TextEncoder();

/** Encodes `nested` as field `field`'s length-delimited value. */
function message(out: Writer, field: number, nested: (w: Writer) => void): void {
  const inner = new Writer();
  nested(inner);
  out.tag(field, 2);
  out.varint(inner.length);
  out.raw(inner.done());
}

function bytes(out: Writer, field: number, data: Uint8Array): void {
  out.tag(field, 2);
  out.varint(data.length);
  out.raw(data);
}

function text(out: Writer, field: number, value: string): void {
  bytes(out, field, utf8.encode(value));
}

function fixed64(out: Writer, field: number, value: bigint): void {
  out.tag(field, 1);
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigUint64(0, value, true);
  out.raw(data);
}

function fixed32(out: Writer, field: number, value: number): void {
  out.tag(field, 5);
  const data = new Uint8Array(4);
  new DataView(data.buffer).setUint32(0, value, true);
  out.raw(data);
}

function hex(id: string): Uint8Array {
  return Uint8Array.from(id.match(/../g)!, (pair) => parseInt(pair, 16));
}

function anyValue(out: Writer, value: AttributeValue | string): void {
  if (typeof value === "string") return text(out, 1, value);
  if (typeof value === "boolean") {
    out.tag(2, 0);
    return out.varint(value ? 1 : 0);
  }
  if (Array.isArray(value)) return message(out, 5, (array) => value.forEach((item) => message(array, 1, (v) => anyValue(v, item))));
  if ("int" in value) {
    out.tag(3, 0);
    // int64: a negative number is its two's complement, ten bytes long.
    return out.varint(BigInt.asUintN(64, BigInt(value.int)));
  }
  out.tag(4, 1);
  const data = new Uint8Array(8);
  new DataView(data.buffer).setFloat64(0, value.double, true);
  out.raw(data);
}

function attributes(out: Writer, field: number, list: Attribute[]): void {
  for (const { key, value } of list) {
    message(out, field, (kv) => {
      text(kv, 1, key);
      message(kv, 2, (v) => anyValue(v, value));
    });
  }
}

function span(out: Writer, s: TraceSpan): void {
  bytes(out, 1, hex(s.traceId));
  bytes(out, 2, hex(s.spanId));
  if (s.parentSpanId !== undefined) bytes(out, 4, hex(s.parentSpanId));
  text(out, 5, s.name);
  out.tag(6, 0);
  out.varint(1); // SPAN_KIND_INTERNAL
  fixed64(out, 7, s.start);
  fixed64(out, 8, s.end);
  attributes(out, 9, s.attributes);
  for (const link of s.links) {
    message(out, 13, (l) => {
      bytes(l, 1, hex(link.traceId));
      bytes(l, 2, hex(link.spanId));
      attributes(l, 4, link.attributes);
      fixed32(l, 6, flagsOf(false));
    });
  }
  message(out, 15, (status) => {
    if (s.status.message !== undefined) text(status, 2, s.status.message);
    if (s.status.code !== 0) {
      status.tag(3, 0);
      status.varint(s.status.code);
    }
  });
  fixed32(out, 16, flagsOf(s.remoteParent));
}

/** The `ExportTraceServiceRequest` as OTLP/protobuf's bytes. */
export function otlpProtobuf({ resource, scope, spans }: TraceExport): Uint8Array {
  const out = new Writer();
  message(out, 1, (resourceSpans) => {
    message(resourceSpans, 1, (r) => attributes(r, 1, resource));
    message(resourceSpans, 2, (scopeSpans) => {
      message(scopeSpans, 1, (s) => {
        text(s, 1, scope.name);
        text(s, 2, scope.version);
      });
      for (const s of spans) message(scopeSpans, 2, (w) => span(w, s));
    });
  });
  return out.done();
}
