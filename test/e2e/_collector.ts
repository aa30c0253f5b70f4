// A real OTLP/HTTP trace receiver on 127.0.0.1 for the end-to-end tests: it decodes what
// arrives (protobuf with the official definitions, JSON as it is) and answers as told.
import { decodeProtobuf, normalize } from "../server/otlp/_official.ts";

export interface Received {
  path: string;
  contentType: string;
  headers: Record<string, string>;
  /** The ExportTraceServiceRequest, ids as hex, 64-bit numbers as strings. */
  request: { resourceSpans: { resource: { attributes: KeyValue[] }; scopeSpans: { scope: object; spans: OtlpSpan[] }[] }[] };
}

export interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  links?: { traceId: string; spanId: string; attributes?: KeyValue[] }[];
  status?: { code?: number; message?: string };
}

/** What the collector answers: a status, or nothing at all until it is closed (a hung collector). */
export type Answer = number | "hang";

export class Collector implements AsyncDisposable {
  readonly received: Received[] = [];
  /** Requests that arrived, answered or not. */
  arrived = 0;
  private readonly server: ReturnType<typeof Bun.serve>;
  private readonly hanging: (() => void)[] = [];
  private listeners = new Set<() => void>();

  /** `answers` are used in turn, the last one for ever after. */
  constructor(private readonly answers: Answer[] = [200]) {
    this.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: async (request) => {
        const answer = this.answers[Math.min(this.arrived, this.answers.length - 1)]!;
        this.arrived++;
        const body = new Uint8Array(await request.arrayBuffer());
        this.notify();
        if (answer === "hang") {
          await new Promise<void>((resolve) => this.hanging.push(resolve));
          return new Response("{}", { status: 503 });
        }
        if (answer === 200) {
          const contentType = request.headers.get("content-type") ?? "";
          const decoded = contentType.includes("protobuf") ? decodeProtobuf(body) : normalize(JSON.parse(new TextDecoder().decode(body)));
          this.received.push({
            path: new URL(request.url).pathname,
            contentType,
            headers: Object.fromEntries(request.headers),
            request: decoded as Received["request"],
          });
          this.notify();
        }
        return new Response("{}", { status: answer, headers: { "content-type": "application/json" } });
      },
    });
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  /** Every span received so far, in the order they came. */
  spans(): OtlpSpan[] {
    return this.received.flatMap((r) => r.request.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)));
  }

  /** Resolves once `condition` holds, re-checked on every request; fails after `ms`. */
  waitFor(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`the collector waited in vain for ${what}; received ${this.received.length} of ${this.arrived} requests`));
      }, ms);
      this.listeners.add(check);
      check();
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const release of this.hanging) release();
    await this.server.stop(true);
  }
}

/** An attribute's value as plain JS: strings, booleans, numbers, arrays of strings. */
export function valueOf(value: Record<string, unknown>): unknown {
  if ("stringValue" in value) return value.stringValue;
  if ("boolValue" in value) return value.boolValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return value.doubleValue;
  if ("arrayValue" in value) return ((value.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map(valueOf);
  // An empty value: protobuf's default (0 or false) left out.
  return 0;
}

export function attributesOf(item: { attributes?: KeyValue[] }): Record<string, unknown> {
  return Object.fromEntries((item.attributes ?? []).map((a) => [a.key, valueOf(a.value)]));
}
