import type { GraphChange, UnitGraph, UnitStatus, UnitSummary } from "../graph/index.ts";
import { parseTraceparent, randomHex, startupSpans, traceparent, type TraceIds, type TraceSpan } from "./otlp/trace.ts";

// The start-up's trace identity and when to send it. One server serves one start-up, so one
// trace: its id is chosen when the server starts (or taken from the server's own TRACEPARENT),
// and each unit's span id is a hash of its name under a key chosen then, so `start` can hand
// it out long before the trace is sent and nothing is kept per unit. Without an exporter
// there are no timers and no work per change.

/** How long every registered unit must stay ended before the start-up counts as settled: scripts launched together register a few milliseconds apart. */
export const SETTLE_GRACE_MS = 500;

const ENDED: ReadonlySet<UnitStatus> = new Set(["completed", "failed"]);

export interface TracerOptions {
  /** The server's own TRACEPARENT: the start-up becomes a child of that span. */
  parent?: string;
  /**
   * The root span's traceparent, when who runs the server chose it (`up`, UNITSYNC_TRACE_ROOT):
   * its trace and span ids, and the key of the units' span ids, so a server started again
   * under the same root hands out the same ids. Ignored when it is not of the parent's trace.
   */
  root?: string;
  /** Called with the spans to send when the start-up settles; absent when nothing is exported. */
  onSettled?: (spans: TraceSpan[], settled: string) => void;
  /** Quiet time after which the start-up counts as settled even with units still running. */
  settleAfterMs?: number;
  /** How long every unit must stay ended (SETTLE_GRACE_MS); tests shorten it. */
  graceMs?: number;
}

export class StartupTracer implements TraceIds {
  readonly traceId: string;
  readonly rootSpanId: string;
  readonly parentSpanId: string | undefined;
  /** The key of every unit's span id. */
  private readonly spanKey: bigint;
  /** The span ids of units whose first span was sent and that started again: a new attempt, a new span. */
  private readonly renewed = new Map<string, string>();
  /** Units whose current span has been sent: a span is sent once, since backends show a repeat twice. */
  private readonly sent = new Set<string>();
  private rootSent = false;
  /** Registered units that have not ended. */
  private open = 0;
  /** Units that changed since the last batch: a later batch looks at these only. */
  private readonly changed = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly graph: UnitGraph,
    private readonly clock: () => number,
    private readonly options: TracerOptions = {},
  ) {
    const parent = parseTraceparent(options.parent);
    const chosen = parseTraceparent(options.root);
    const root = chosen && (!parent || chosen.traceId === parent.traceId) ? chosen : undefined;
    this.traceId = root?.traceId ?? parent?.traceId ?? randomHex(16);
    this.parentSpanId = parent?.spanId;
    this.rootSpanId = root?.spanId ?? randomHex(8);
    this.spanKey = BigInt(`0x${root?.spanId ?? randomHex(8)}`);
    this.unsubscribe = graph.subscribe((change) => this.observe(change));
  }

  /** The span id of `unit`'s current attempt. */
  spanOf(unit: string): string {
    // 64 bits of a keyed hash: as unlikely to collide as random ids, and never all zeros (invalid).
    return this.renewed.get(unit) ?? (Bun.hash.wyhash(unit, this.spanKey) || 1n).toString(16).padStart(16, "0");
  }

  /** The W3C traceparent a unit's command runs under: its unit's span. */
  traceparentOf(unit: string): string {
    return traceparent(this.traceId, this.spanOf(unit));
  }

  /** The root span's traceparent, for what runs the start-up's scripts (`up`). */
  get rootTraceparent(): string {
    return traceparent(this.traceId, this.rootSpanId);
  }

  /** The whole trace as it stands, every registered unit included, sent or not (`timeline -o otlp`). */
  snapshot(): TraceSpan[] {
    return startupSpans(this.graph.units(), this, this.clock(), { root: true, unit: () => true, settled: "requested" });
  }

  /** Sends what has not been sent, units still in progress included (ending now), and stops. */
  shutdown(): void {
    clearTimeout(this.timer);
    this.unsubscribe();
    this.settle("shutdown", () => true);
  }

  private observe(change: GraphChange): void {
    if (change.type === "registered") this.open++;
    if (change.type === "status_changed") this.open += Number(ENDED.has(change.from)) - Number(ENDED.has(change.to));
    // A unit that starts again after its span was sent (a retry) is a new attempt: a new span.
    if (change.type === "start_requested" && this.sent.delete(change.unit)) this.renewed.set(change.unit, randomHex(8));
    if (!this.options.onSettled) return;
    this.changed.add(change.unit);
    clearTimeout(this.timer);
    if (this.open === 0 && this.graph.size > 0) {
      this.timer = setTimeout(() => this.settle("all units ended", (unit) => unit.times.ended !== undefined), this.options.graceMs ?? SETTLE_GRACE_MS);
    } else if (this.options.settleAfterMs !== undefined) {
      this.timer = setTimeout(() => this.settle("quiet", (unit) => unit.times.ended !== undefined), this.options.settleAfterMs);
    }
    // Timers must not keep a stopping process alive.
    this.timer?.unref?.();
  }

  /**
   * Sends the spans not sent yet whose units are `ready`. The first batch and the last (at
   * shutdown) look at every unit; one in between looks only at the units changed since the
   * batch before, so a start-up that settles after every unit costs linear time in all.
   */
  private settle(settled: string, ready: (unit: UnitSummary) => boolean): void {
    if (!this.options.onSettled || this.graph.size === 0) return;
    const unit = (summary: UnitSummary) => !this.sent.has(summary.name) && ready(summary);
    const whole = !this.rootSent || settled === "shutdown";
    const units = whole ? this.graph.units() : [...this.changed].map((name) => this.summaryOf(name)).filter((s) => s !== undefined);
    this.changed.clear();
    const isRegistered = whole ? undefined : (name: string) => this.graph.statusOf(name) !== undefined;
    const spans = startupSpans(units, this, this.clock(), { root: !this.rootSent, unit, settled, isRegistered });
    if (spans.length === 0) return;
    this.rootSent = true;
    for (const span of spans) if (span.parentSpanId === this.rootSpanId) this.sent.add(span.name);
    this.options.onSettled(spans, settled);
  }

  private summaryOf(name: string): UnitSummary | undefined {
    const status = this.graph.statusOf(name);
    const times = this.graph.timesOf(name);
    if (status === undefined || times === undefined) return undefined;
    const dependencies = this.graph.dependenciesOf(name).map(({ dependsOn, requires, declaredAt }) => ({ dependsOn, requires, declaredAt }));
    return { name, status, ready: this.graph.isReady(name), reason: this.graph.reasonOf(name), times, dependencies };
  }
}

