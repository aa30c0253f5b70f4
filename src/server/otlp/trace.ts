import { buildTimeline, type UnitStatus, type UnitSummary } from "../../graph/index.ts";

// A start-up as OpenTelemetry spans, in a form of our own that both encoders (OTLP JSON and
// protobuf) write. Pure: the ids and the moment come in, nothing is read from outside.

/** An attribute value as OTLP carries it; whole numbers are `int`, others `double`. */
export type AttributeValue = string | boolean | { int: number } | { double: number } | string[];

export interface Attribute {
  key: string;
  value: AttributeValue;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  attributes: Attribute[];
}

/** OTLP's status codes: 0 unset, 1 ok, 2 error. */
export type StatusCode = 0 | 1 | 2;

export interface TraceSpan {
  traceId: string;
  /** 16 hex digits. */
  spanId: string;
  parentSpanId: string | undefined;
  /** The parent is a span of another process (the server's TRACEPARENT). */
  remoteParent?: boolean;
  name: string;
  /** Nanoseconds since the Unix epoch. */
  start: bigint;
  end: bigint;
  attributes: Attribute[];
  links: SpanLink[];
  status: { code: StatusCode; message?: string };
}

/** The identities a start-up's spans carry: the tracer holds them, so they can be handed out before the trace is sent. */
export interface TraceIds {
  traceId: string;
  rootSpanId: string;
  /** The span that started the server (its TRACEPARENT), if any: the root's parent. */
  parentSpanId: string | undefined;
  /** The span id of `unit`'s current attempt. */
  spanOf(unit: string): string;
}

export interface SpanSelection {
  /** Include the root span. */
  root: boolean;
  /** Which of the units given get a span. */
  unit(summary: UnitSummary): boolean;
  /** Why the trace is taken now, on the root span: `all units ended`, `quiet`, `shutdown`, `requested`. */
  settled: string;
  /**
   * Only some units are given (those changed since the last batch): whether a name is
   * registered comes from here, and no timeline is built, so a batch costs what it sends
   * and units in it carry no `critical_path` mark. Without it, `units` is every unit.
   */
  isRegistered?: (unit: string) => boolean;
}

const ENDED: ReadonlySet<UnitStatus> = new Set(["completed", "failed"]);

/**
 * The spans of a start-up at `now` (graph-clock milliseconds): a root span from the first
 * registration to the last activity, and for each selected unit a child span from its first
 * activity to its end (or `now`), with a `wait` and a `run` span under it and a link to each
 * registered dependency's span. Linear in the units given and their edges.
 */
export function startupSpans(units: readonly UnitSummary[], ids: TraceIds, now: number, selection: SpanSelection): TraceSpan[] {
  const partial = selection.isRegistered !== undefined;
  const timeline = partial ? undefined : buildTimeline(units, now);
  const names = partial ? undefined : new Set(units.map((unit) => unit.name));
  const isRegistered = selection.isRegistered ?? ((unit: string) => names!.has(unit));
  const critical = new Set(timeline?.criticalPath.map((entry) => entry.unit));
  const spans: TraceSpan[] = [];
  const { traceId } = ids;

  if (selection.root && timeline) {
    const failed = units.filter((unit) => unit.status === "failed").length;
    const allEnded = units.every((unit) => ENDED.has(unit.status));
    spans.push({
      traceId,
      spanId: ids.rootSpanId,
      parentSpanId: ids.parentSpanId,
      remoteParent: ids.parentSpanId !== undefined,
      name: "start-up",
      start: nanos(timeline.origin),
      end: nanos(Math.max(timeline.end, timeline.origin)),
      attributes: [
        { key: "unitsync.startup.units", value: { int: units.length } },
        { key: "unitsync.startup.failed", value: { int: failed } },
        { key: "unitsync.startup.settled", value: selection.settled },
        { key: "unitsync.startup.critical_path", value: timeline.criticalPath.map((entry) => entry.unit) },
        ...(timeline.missing.length > 0 ? [{ key: "unitsync.startup.missing", value: timeline.missing.map((m) => m.unit) }] : []),
      ],
      links: [],
      status: failed > 0 ? { code: 2, message: `${failed} of ${units.length} units failed` } : { code: allEnded ? 1 : 0 },
    });
  }

  for (const unit of units) {
    if (!selection.unit(unit)) continue;
    const { registered: registeredAt, startRequested, started, ended } = unit.times;
    const spanId = ids.spanOf(unit.name);
    const inProgress = ended === undefined;
    const end = ended ?? now;
    const first = startRequested ?? started ?? ended ?? registeredAt;
    const waited = startRequested === undefined ? undefined : (started ?? end) - startRequested;
    const attributes: Attribute[] = [
      { key: "unitsync.unit.name", value: unit.name },
      { key: "unitsync.unit.status", value: unit.status },
    ];
    if (unit.reason !== undefined) attributes.push({ key: "unitsync.unit.reason", value: unit.reason });
    if (waited !== undefined) attributes.push({ key: "unitsync.unit.waited_ms", value: { double: round(waited) } });
    if (started !== undefined) attributes.push({ key: "unitsync.unit.ran_ms", value: { double: round(end - started) } });
    if (unit.dependencies.length > 0) {
      attributes.push({ key: "unitsync.unit.dependencies", value: unit.dependencies.map((edge) => edge.dependsOn) });
      attributes.push({ key: "unitsync.unit.requirements", value: unit.dependencies.map((edge) => edge.requires) });
    }
    if (inProgress) attributes.push({ key: "unitsync.unit.in_progress", value: true });
    if (critical.has(unit.name)) attributes.push({ key: "unitsync.unit.critical_path", value: true });
    spans.push({
      traceId,
      spanId,
      parentSpanId: ids.rootSpanId,
      name: unit.name,
      start: nanos(first),
      end: nanos(end),
      attributes,
      links: unit.dependencies
        .filter((edge) => isRegistered(edge.dependsOn))
        .map((edge) => ({
          traceId,
          spanId: ids.spanOf(edge.dependsOn),
          attributes: [
            { key: "unitsync.dependency.name", value: edge.dependsOn },
            { key: "unitsync.dependency.requires", value: edge.requires },
          ],
        })),
      status: statusOf(unit),
    });
    if (startRequested !== undefined) {
      spans.push(phase(traceId, spanId, "wait", startRequested, started ?? end, started === undefined && !inProgress ? statusOf(unit) : { code: 0 }));
    }
    if (started !== undefined) spans.push(phase(traceId, spanId, "run", started, end, statusOf(unit)));
  }
  return spans;
}

function statusOf(unit: UnitSummary): TraceSpan["status"] {
  if (unit.status === "completed") return { code: 1 };
  if (unit.status === "failed") return unit.reason ? { code: 2, message: unit.reason } : { code: 2 };
  return { code: 0 };
}

function phase(traceId: string, parent: string, name: "wait" | "run", from: number, to: number, status: TraceSpan["status"]): TraceSpan {
  return { traceId, spanId: childSpanId(parent, name), parentSpanId: parent, name, start: nanos(from), end: nanos(to), attributes: [], links: [], status };
}

/**
 * The id of a unit span's `wait` or `run` child, derived from the unit's: nobody hands these
 * out, and deriving them keeps the tracer's memory at one id per unit. Two 32-bit FNV-1a
 * hashes with different offsets make the 64 bits.
 */
export function childSpanId(parent: string, name: string): string {
  const text = `${parent}/${name}`;
  let high = 0x811c9dc5;
  let low = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    high = Math.imul(high ^ code, 0x01000193);
    low = Math.imul(low ^ code, 0x01000193);
  }
  // An all-zero span id is invalid in OTLP.
  if (high === 0 && low === 0) low = 1;
  return (high >>> 0).toString(16).padStart(8, "0") + (low >>> 0).toString(16).padStart(8, "0");
}

/** Graph-clock milliseconds (wall clock, sub-millisecond steps) to Unix nanoseconds, to the microsecond. */
export function nanos(ms: number): bigint {
  return BigInt(Math.round(ms * 1_000)) * 1_000n;
}

function round(ms: number): number {
  return Math.round(ms * 1_000) / 1_000;
}

/**
 * OTLP's span and link flags: the W3C trace flags (sampled) in the low byte, then "whether
 * the parent is remote is known" and "it is remote", as the official SDK writes them.
 */
export function flagsOf(remote: boolean | undefined): number {
  return remote ? 0x301 : 0x101;
}

/** A W3C `traceparent` header for a span: version 00, sampled. */
export function traceparent(traceId: string, spanId: string): string {
  return `00-${traceId}-${spanId}-01`;
}

/** `bytes` random bytes in hex, as trace and span ids are written. */
export function randomHex(bytes: number): string {
  const data = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(data, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The trace and span ids of a W3C `traceparent`, or undefined when it is not a valid one. */
export function parseTraceparent(header: string | undefined): { traceId: string; spanId: string } | undefined {
  const match = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(header?.trim() ?? "");
  if (!match || match[1] === "ff" || /^0+$/.test(match[2]!) || /^0+$/.test(match[3]!)) return undefined;
  return { traceId: match[2]!, spanId: match[3]! };
}
