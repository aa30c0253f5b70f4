import { UnitsyncError, type StoppedScript, type SupervisionRequest, type SupervisionResponse } from "../protocol/index.ts";
import type { ServerView } from "./view.ts";

/**
 * How long a supervisor's question waits for a change before it is answered anyway, with
 * the same version: well inside the client's request time-out, so a quiet start-up never
 * looks like a server that stopped answering.
 */
const LONGEST_HOLD_MS = 5_000;

/**
 * Counts the changes a supervisor may care for (the graph, starts beginning or ending a
 * wait, locks) and holds its questions until the next one: push, without a stream to keep
 * in step, and a supervisor busy with the last answer is never sent more.
 */
export class ChangeCount {
  version = 0;
  private readonly wakers = new Set<() => void>();
  private closed = false;

  constructor(view: ServerView) {
    view.onChange(() => {
      this.version++;
      for (const wake of this.wakers) wake();
    });
  }

  /** Answers every held question now, and every later one at once: the server is stopping. */
  close(): void {
    this.closed = true;
    for (const wake of this.wakers) wake();
  }

  /** Resolves once the version is past `after`, the question was withdrawn, or the longest hold passed. */
  async past(after: number, signal: AbortSignal): Promise<void> {
    if (this.version > after || signal.aborted || this.closed) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakers.delete(wake);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      const timer = setTimeout(wake, LONGEST_HOLD_MS);
      this.wakers.add(wake);
      signal.addEventListener("abort", wake, { once: true });
    });
  }
}

/** The question's fields, checked: a bad one is the client's mistake, said in one line. */
export function supervisionQuestion(body: Record<string, unknown>): SupervisionRequest {
  const { after, details, timeline } = body;
  if (after !== undefined && !(Number.isInteger(after) && (after as number) >= -1)) {
    throw new UnitsyncError("bad_request", `"after" must be a version number from an earlier answer`);
  }
  if (details !== undefined && typeof details !== "boolean") throw new UnitsyncError("bad_request", `"details" must be true or false`);
  if (timeline === undefined) return { after: after as number | undefined, details: details as boolean | undefined };
  const stopped = (timeline as { stopped_scripts?: unknown } | null)?.stopped_scripts ?? [];
  const isStopped = (entry: unknown): entry is StoppedScript =>
    typeof (entry as StoppedScript)?.script === "string" && Number.isFinite((entry as StoppedScript).at);
  if (typeof timeline !== "object" || timeline === null || !Array.isArray(stopped) || !stopped.every(isStopped)) {
    throw new UnitsyncError("bad_request", `"timeline" must be an object whose "stopped_scripts" lists {"script", "at"}`);
  }
  return { after: after as number | undefined, details: details as boolean | undefined, timeline: { stopped_scripts: stopped } };
}

/** The answer, read from the view as it is now (every read of it settles the waiters first). */
export function supervisionOf(view: ServerView, version: number, traceparent: string, question: SupervisionRequest): SupervisionResponse {
  const waiting = view.waitingStarts().map(({ unit, pid, script }) => ({
    unit,
    ...(pid !== undefined && { pid }),
    ...(script !== undefined && { script }),
    ...(question.details && { details: view.detailsOf(unit) }),
  }));
  const answer: SupervisionResponse = { version, traceparent, waiting, locks: view.locks() };
  if (!question.details && !question.timeline) return answer;
  const units = view.units();
  answer.starters = units.flatMap(({ name }) => {
    const script = view.starterOf(name);
    return script === undefined ? [] : [{ unit: name, script }];
  });
  if (!question.timeline) return answer;
  // A unit whose start a stopped script asked for ends, in the timeline, when that script was stopped.
  const stoppedAt = new Map((question.timeline.stopped_scripts ?? []).map(({ script, at }) => [script, at]));
  const stopped = new Map<string, number>();
  for (const { unit, script } of answer.starters) {
    const at = stoppedAt.get(script);
    if (at !== undefined) stopped.set(unit, at);
  }
  answer.timeline = view.timeline(view.now(), stopped);
  answer.unsatisfied = units.filter((unit) => unit.status === "pending").map(({ name }) => ({ unit: name, waiting_for: view.unsatisfiedOf(name) }));
  return answer;
}
