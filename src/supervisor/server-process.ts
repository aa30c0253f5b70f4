import { join } from "node:path";
import { UnitsyncClient } from "../client/index.ts";
import { readLines } from "../protocol/lines.ts";
import {
  ENV,
  UnitsyncError,
  type LockEntry,
  type StoppedScript,
  type SupervisedStart,
  type SupervisionRequest,
  type SupervisionResponse,
  type TimelineResponse,
  type WaitDetail,
} from "../protocol/index.ts";
import { formatDuration } from "../render/duration.ts";
import { NO_OPTIMIZING_JIT } from "../server/jit.ts";
import { parseTraceparent, randomHex, traceparent } from "../server/otlp/trace.ts";
import type { SupervisorView } from "./deadlock.ts";

/** Attempts at starting a server again after it died, before `up` gives the start-up up. */
const REVIVE_ATTEMPTS = 3;
/** Restarts in one start-up before a server that keeps dying is taken as broken. */
const MOST_RESTARTS = 20;
/** After a failed question to a server that has not exited: the pause before asking again. */
const ASK_AGAIN_MS = 100;

export interface ServerProcessOptions {
  socketPath: string;
  /** A line for the start-up's log: the server died, came back, or warned. */
  say: (text: string) => void;
  /** The server died and could not be started again: the start-up cannot go on. */
  onLost: (why: string) => void;
}

/** A server spawned and not yet answering: what is known of it at once, and the server once it answers. */
export interface LaunchedServer {
  pid: number;
  /** The start-up's root span, for the scripts' TRACEPARENT: `up` chooses it, so it is known now. */
  traceparent: string;
  /** The server once it answers; rejects with its own words when it cannot start. */
  ready: Promise<ServerProcess>;
}

/**
 * `up`'s server, in a process of its own as an agent's would be: `unitsync serve` on the
 * start-up's socket, with its journal. When it dies (the OOM killer, a stray `kill`), it is
 * started again on the same socket, recovers from the journal, and the scripts' clients ride
 * over the gap. What the supervisor reads of it (waiting starts, locks, the timeline) comes
 * over the socket, pushed on every change, and is kept here for synchronous reads.
 */
export class ServerProcess implements SupervisorView {
  private child: Subprocess;
  private readonly client: UnitsyncClient;
  private answer: SupervisionResponse;
  private waiting = new Map<string, SupervisedStart>();
  private starters = new Map<string, string>();
  private readonly listeners = new Set<() => void>();
  private stopping = false;
  /** It died and could not be started again: nothing at the socket is ours to ask. */
  private lost = false;
  private restarts = 0;
  /** Settles when the server that replaces a dead one answers (true), or none will (false). */
  private revived: Promise<boolean> | undefined;

  private constructor(
    private readonly options: ServerProcessOptions & { root: string },
    child: Subprocess,
    client: UnitsyncClient,
    answer: SupervisionResponse,
  ) {
    this.child = child;
    this.client = client;
    this.answer = answer;
    this.take(answer);
    this.watch(child);
    void this.follow();
  }

  /**
   * Spawns `unitsync serve` on `socketPath`, fresh, under a root span chosen here (a child of
   * `up`'s own TRACEPARENT, if it has one); `ready` settles once it answers.
   */
  static launch(options: ServerProcessOptions): LaunchedServer {
    const parent = parseTraceparent(process.env.TRACEPARENT);
    const root = traceparent(parent?.traceId ?? randomHex(16), randomHex(8));
    const { child, serving } = spawnServer(options.socketPath, true, options.say, root);
    const ready = (async () => {
      const client = new UnitsyncClient(options.socketPath, { explicitPath: true });
      try {
        await serving;
        return new ServerProcess({ ...options, root }, child, client, await client.supervision({}));
      } catch (error) {
        child.kill("SIGKILL");
        throw error;
      }
    })();
    return { pid: child.pid, traceparent: root, ready };
  }

  get pid(): number {
    return this.child.pid;
  }

  waitingStarts(): { unit: string; pid: number | undefined; script: string | undefined }[] {
    return this.answer.waiting.map(({ unit, pid, script }) => ({ unit, pid, script }));
  }

  locks(): LockEntry[] {
    return this.answer.locks;
  }

  /** What a waiting start of `unit` waits for; known after a `refresh({ details: true })`. */
  detailsOf(unit: string): WaitDetail[] {
    return this.waiting.get(unit)?.details ?? [];
  }

  /** The script that started `unit`; known after a `refresh` with details or the timeline. */
  starterOf(unit: string): string | undefined {
    return this.starters.get(unit);
  }

  /** Calls `listener` after every change the server reports; returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Asks the server now; false while there is no server to ask (it died and is coming back). */
  async refresh(question: Omit<SupervisionRequest, "after"> = {}): Promise<boolean> {
    if (this.lost) return false;
    try {
      this.take(await this.client.supervision(question));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The timeline as it is now, with what each pending unit waits for; units started by a
   * stopped script end when it was stopped. Undefined when no server answers.
   */
  async timeline(stopped: StoppedScript[] = []): Promise<{ timeline: TimelineResponse; unsatisfied: Map<string, string[]> } | undefined> {
    if (this.lost) return undefined;
    try {
      const answer = await this.client.supervision({ timeline: { stopped_scripts: stopped } });
      this.take(answer);
      return { timeline: answer.timeline!, unsatisfied: new Map((answer.unsatisfied ?? []).map((u) => [u.unit, u.waiting_for])) };
    } catch {
      return undefined;
    }
  }

  /** Stops the server (SIGTERM: it ends the waiting starts and sends its trace) and waits for it. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.listeners.clear();
    this.child.kill("SIGTERM");
    await this.child.exited;
  }

  private take(answer: SupervisionResponse): void {
    this.answer = answer;
    if (answer.waiting.some((start) => start.details)) this.waiting = new Map(answer.waiting.map((start) => [start.unit, start]));
    if (answer.starters) this.starters = new Map(answer.starters.map(({ unit, script }) => [unit, script]));
  }

  /** Asks again each time the last answer came: the server answers when something changed. */
  private async follow(): Promise<void> {
    let version = this.answer.version;
    while (!this.stopping) {
      let answer: SupervisionResponse;
      try {
        answer = await this.client.supervision({ after: version });
      } catch {
        if (this.stopping) return;
        // Gone, most likely: wait for its exit and the server that replaces it (which counts
        // its versions afresh); a server that is still there is asked again in a moment.
        const exited = await Promise.race([this.child.exited.then(() => true), Bun.sleep(ASK_AGAIN_MS).then(() => false)]);
        if (exited && this.revived !== undefined && !(await this.revived)) return;
        version = -1;
        continue;
      }
      if (answer.version === version || this.stopping) continue;
      version = answer.version;
      this.take(answer);
      for (const listener of this.listeners) listener();
    }
  }

  /** When the server exits by itself, starts it again on the same socket, from its journal. */
  private watch(child: Subprocess): void {
    void child.exited.then(() => {
      if (this.stopping || child !== this.child) return;
      const how = child.signalCode ? `was killed by ${child.signalCode}` : `exited with ${child.exitCode}`;
      this.revived = this.revive(`the server (pid ${child.pid}) ${how}`);
      void this.revived.then((ok) => {
        if (ok) this.revived = undefined;
      });
    });
  }

  private async revive(what: string): Promise<boolean> {
    const { say, socketPath, onLost } = this.options;
    if (++this.restarts > MOST_RESTARTS) {
      this.lost = true;
      onLost(`${what}, for the ${MOST_RESTARTS + 1}th time in this start-up; not starting it again`);
      return false;
    }
    say(`${what}; starting it again on the same socket`);
    const began = performance.now();
    let problem = "";
    for (let attempt = 1; attempt <= REVIVE_ATTEMPTS && !this.stopping; attempt++) {
      let child: Subprocess | undefined;
      try {
        const spawned = spawnServer(socketPath, false, say, this.options.root);
        child = spawned.child;
        await spawned.serving;
        const { recovered } = await this.client.ping();
        this.child = child;
        this.watch(child);
        const from = recovered ? `recovered ${recovered.units} units from its journal` : "recovered nothing";
        say(`server back (pid ${child.pid}) after ${formatDuration(performance.now() - began)}: ${from}`);
        return true;
      } catch (error) {
        child?.kill("SIGKILL");
        problem = error instanceof Error ? error.message : String(error);
      }
    }
    this.lost = true;
    if (!this.stopping) onLost(`${what}, and could not be started again: ${problem}`);
    return false;
  }
}

type Subprocess = ReturnType<typeof Bun.spawn<"ignore", "ignore", "pipe">>;

/**
 * `unitsync serve` on `socketPath`, from this binary (or, run from source, this source),
 * with a journal: `fresh` for the start-up's first server, recovering for the ones after;
 * every one under the start-up's `root` span. `serving` settles once it says it serves, and
 * rejects with its last words when it exits before that. Its warnings go to `say`; its unit
 * events, which `up` shows its own way, nowhere.
 */
function spawnServer(socketPath: string, fresh: boolean, say: (text: string) => void, root: string): { child: Subprocess; serving: Promise<void> } {
  const compiled = import.meta.path.startsWith("/$bunfs/");
  const program = compiled ? [process.execPath] : [process.execPath, join(import.meta.dir, "..", "main.ts")];
  // Set here, `serve` need not start itself again to set it (jit.ts): one runtime start fewer.
  const env: Record<string, string | undefined> = { ...NO_OPTIMIZING_JIT, ...process.env, [ENV.traceRoot]: root };
  delete env[ENV.socketPath];
  const child = Bun.spawn([...program, "serve", "--socket-path", socketPath, ...(fresh ? ["--fresh"] : [])], {
    env,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  return { child, serving: untilServing(child, say) };
}

async function untilServing(child: Subprocess, say: (text: string) => void): Promise<void> {
  const lines = readLines(child.stderr)[Symbol.asyncIterator]();
  const said: string[] = [];
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    const line = next.value;
    if (/ serving on /.test(line)) {
      void drain(lines, say);
      return;
    }
    said.push(line);
  }
  // Its own error, as `serve` would have said it in `up`'s place (exit 1: the path is taken, 2: a bad setting).
  const exitCode = await child.exited;
  const error = said.findLast((line) => line.startsWith("error: "))?.slice("error: ".length);
  if (error !== undefined && (exitCode === 1 || exitCode === 2)) throw new UnitsyncError(exitCode === 2 ? "usage" : "conflict", error);
  const last = said.findLast((line) => line.trim() !== "")?.replace(LOG_STAMP, "") ?? `it exited with ${exitCode}`;
  throw new UnitsyncError("server_unreachable", `the server did not start: ${last}`);
}

/** The time and level a `serve` log line starts with. */
const LOG_STAMP = /^\d\d:\d\d:\d\d\.\d{3} \S+ +/;

/** Reads the rest of a server's log, passing on its warnings and errors. */
async function drain(lines: AsyncIterator<string>, say: (text: string) => void): Promise<void> {
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    const [, level, message] = /^\d\d:\d\d:\d\d\.\d{3} (\S+) +(.*)$/.exec(next.value) ?? [];
    if (level === "warn" || level === "error" || level === "fatal") say(`server: ${message}`);
  }
}

