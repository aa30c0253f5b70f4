import type { OtlpConfig } from "./config.ts";
import { otlpJson, type TraceExport } from "./json.ts";
import { otlpProtobuf } from "./protobuf.ts";

// Sends batches of spans to an OTLP/HTTP collector, off the path of every request: `send`
// encodes and queues, one request is in flight at a time, failures are retried a bounded
// number of times, and the queue is bounded, so a slow or absent collector costs at most
// MAX_QUEUED batches of memory and never delays a unit.

/** Batches held at most; past that the oldest is dropped (and said so). */
export const MAX_QUEUED = 8;
/** Tries per batch, the first included. */
export const MAX_ATTEMPTS = 5;
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
/** Answers that mean "try again later", as the OTLP specification lists them. */
const RETRYABLE = new Set([429, 502, 503, 504]);

export interface ExportLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface TraceExporter {
  /** Encodes `batch` and queues it; returns at once. */
  send(batch: TraceExport, what: string): void;
  /** Sends what is queued, each batch once more at most, until `deadlineMs` has passed; then drops the rest. */
  shutdown(deadlineMs: number): Promise<void>;
}

interface Queued {
  body: Uint8Array | string;
  what: string;
  attempts: number;
}

export function createExporter(config: OtlpConfig, log: ExportLog): TraceExporter {
  const queue: Queued[] = [];
  const contentType = config.protocol === "http/json" ? "application/json" : "application/x-protobuf";
  let pumping: Promise<void> | undefined;
  let closing = false;
  let wakeBackoff = () => {};

  async function post(item: Queued, timeoutMs: number): Promise<"sent" | "retry" | "drop"> {
    item.attempts++;
    try {
      const answer = await fetch(config.url, {
        method: "POST",
        headers: { ...config.headers, "content-type": contentType },
        body: item.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await answer.arrayBuffer().catch(() => undefined);
      if (answer.ok) return "sent";
      const problem = `${config.url} answered ${answer.status}`;
      if (!RETRYABLE.has(answer.status)) {
        log.warn(`trace export: ${problem}; dropped ${item.what}`);
        return "drop";
      }
      return retryOrDrop(item, problem);
    } catch (error) {
      return retryOrDrop(item, `${config.url}: ${(error as Error).message}`);
    }
  }

  function retryOrDrop(item: Queued, problem: string): "retry" | "drop" {
    if (item.attempts >= MAX_ATTEMPTS || closing) {
      log.warn(`trace export: ${problem}; dropped ${item.what} after ${item.attempts} ${item.attempts === 1 ? "try" : "tries"}`);
      return "drop";
    }
    log.warn(`trace export: ${problem}; will retry ${item.what}`);
    return "retry";
  }

  async function pump(): Promise<void> {
    while (queue.length > 0) {
      const item = queue[0]!;
      const outcome = await post(item, config.timeoutMs);
      if (outcome === "sent") log.info(`trace export: sent ${item.what} to ${config.url}`);
      if (outcome !== "retry") {
        queue.shift();
        continue;
      }
      const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (item.attempts - 1));
      // Jitter, so a fleet that lost its collector does not come back in step.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoff * (0.5 + Math.random() / 2));
        wakeBackoff = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  function start(): void {
    pumping ??= pump().finally(() => (pumping = undefined));
  }

  return {
    send(batch, what) {
      const body = config.protocol === "http/json" ? JSON.stringify(otlpJson(batch)) : otlpProtobuf(batch);
      if (queue.length >= MAX_QUEUED) {
        // The oldest waits behind a failing collector the longest; the newest says the most.
        const dropped = queue.splice(pumping ? 1 : 0, 1)[0]!;
        log.warn(`trace export: ${MAX_QUEUED} batches queued for ${config.url}; dropped ${dropped.what}`);
      }
      queue.push({ body, what, attempts: 0 });
      if (!closing) start();
    },
    async shutdown(deadlineMs) {
      closing = true;
      wakeBackoff();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), deadlineMs)));
      start();
      const outcome = await Promise.race([pumping ?? Promise.resolve(), deadline]);
      clearTimeout(timer);
      if (outcome === "late" && queue.length > 0) {
        log.warn(`trace export: ${config.url} did not take the trace within ${deadlineMs} ms of shutdown; dropped ${queue.map((q) => q.what).join(", ")}`);
        queue.length = 0;
      }
    },
  };
}
