import type { TraceExport } from "./json.ts";
import { flagsOf, type Attribute, type AttributeValue, type TraceSpan } from "./trace.ts";

// OTLP/protobuf's ExportTraceServiceRequest, written by hand with the field numbers of
// opentelemetry-proto's trace.proto, common.proto and resource.proto (checked against the
// official decoder in test/server/otlp.test.ts). Only what our spans use is written.

/**
 * One growing byte buffer with protobuf's wire types. A nested message is written in place
 * and its length put in front of it when it ends (a move of its bytes), so a whole request is
 * one buffer and no message is allocated on its own.
 */
class Writer {
  private bytes = new Uint8Array(4096);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private room(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
    this.view = new DataView(grown.buffer);
  }

  /** A varint of a number below 2^53. */
  varint(value: number): void {
    this.room(10);
    while (value > 0x7f) {
      this.bytes[this.length++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.bytes[this.length++] = value;
  }

  /** A varint of any 64-bit value, as two's complement for a negative one. */
  bigVarint(value: bigint): void {
    let rest = BigInt.asUintN(64, value);
    this.room(10);
    while (rest > 0x7fn) {
      this.bytes[this.length++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.bytes[this.length++] = Number(rest);
  }

  tag(field: number, wireType: 0 | 1 | 2 | 5): void {
    this.varint(field * 8 + wireType);
  }

  fixed32(value: number): void {
    this.room(4);
    this.view.setUint32(this.length, value, true);
    this.length += 4;
  }

  fixed64(value: bigint): void {
    this.room(8);
    this.view.setBigUint64(this.length, value, true);
    this.length += 8;
  }

  double(value: number): void {
    this.room(8);
    this.view.setFloat64(this.length, value, true);
    this.length += 8;
  }

  text(value: string): void {
    // UTF-8 takes at most three bytes per UTF-16 unit; the length goes in front afterwards.
    this.room(value.length * 3 + 10);
    const start = this.length;
    // Names and attribute keys are ASCII nearly always: copied code by code, no view made.
    let ascii = true;
    for (let i = 0; i < value.length && ascii; i++) {
      const code = value.charCodeAt(i);
      if (code < 0x80) this.bytes[this.length++] = code;
      else ascii = false;
    }
    if (!ascii) this.length = start + utf8.encodeInto(value, this.bytes.subarray(start)).written;
    this.prefixLength(start);
  }

  hex(id: string): void {
    this.room(id.length / 2 + 1);
    this.bytes[this.length++] = id.length / 2;
    for (let i = 0; i < id.length; i += 2) this.bytes[this.length++] = (nibble(id.charCodeAt(i)) << 4) | nibble(id.charCodeAt(i + 1));
  }

  /** Writes `nested` as field `field`'s length-delimited value. */
  message(field: number, nested: () => void): void {
    this.tag(field, 2);
    const start = this.length;
    nested();
    this.prefixLength(start);
  }

  /** Puts the varint length of the bytes written since `start` in front of them. */
  private prefixLength(start: number): void {
    const size = this.length - start;
    let header = 1;
    for (let rest = size; rest > 0x7f; rest = Math.floor(rest / 0x80)) header++;
    this.room(header);
    this.bytes.copyWithin(start + header, start, this.length);
    const end = this.length + header;
    this.length = start;
    this.varint(size);
    this.length = end;
  }

  done(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

const utf8 = new TextEncoder();

/** The value of one lower-case hex digit's character code (ids are made lower-case). */
function nibble(code: number): number {
  return code <= 0x39 ? code - 0x30 : code - 0x57;
}

function message(out: Writer, field: number, nested: (w: Writer) => void): void {
  out.message(field, () => nested(out));
}

function bytes(out: Writer, field: number, id: string): void {
  out.tag(field, 2);
  out.hex(id);
}

function text(out: Writer, field: number, value: string): void {
  out.tag(field, 2);
  out.text(value);
}

function fixed64(out: Writer, field: number, value: bigint): void {
  out.tag(field, 1);
  out.fixed64(value);
}

function fixed32(out: Writer, field: number, value: number): void {
  out.tag(field, 5);
  out.fixed32(value);
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
    return value.int >= 0 ? out.varint(value.int) : out.bigVarint(BigInt(value.int));
  }
  out.tag(4, 1);
  out.double(value.double);
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
  bytes(out, 1, s.traceId);
  bytes(out, 2, s.spanId);
  if (s.parentSpanId !== undefined) bytes(out, 4, s.parentSpanId);
  text(out, 5, s.name);
  out.tag(6, 0);
  out.varint(1); // SPAN_KIND_INTERNAL
  fixed64(out, 7, s.start);
  fixed64(out, 8, s.end);
  attributes(out, 9, s.attributes);
  for (const link of s.links) {
    message(out, 13, (l) => {
      bytes(l, 1, link.traceId);
      bytes(l, 2, link.spanId);
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
