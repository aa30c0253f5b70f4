import { DEFAULT_GRAPH_LIMITS, type GraphLimits, type GraphRules, type UnitGraph } from "../graph/index.ts";
import { ENV, SERVER_ID_HEADER, UnitsyncError, type Recovery } from "../protocol/index.ts";
import { HTTP_BODY_CEILING } from "./http.ts";
import { LockHolds } from "./lock-holds.ts";
import { LockTable } from "./locks.ts";
import { otlpConfig, resourceOf, tracesConfigured } from "./otlp/config.ts";
import type { TraceExporter } from "./otlp/exporter.ts";
import { createRouter } from "./routes.ts";
import { alreadyServed, checkBoundSocket, claimSocketPath, type ClaimedPath, removeSocket } from "./socket-file.ts";
import { ChangeCount } from "./supervision.ts";
import { StartupTracer } from "./tracer.ts";
import { viewOf, type ServerView } from "./view.ts";
import { buildState } from "./recovery.ts";
import { DEFAULT_MAX_WAITING } from "./waiters.ts";

/** How long shutdown waits for open answers to drain before closing connections. */
const SHUTDOWN_GRACE_MS = 1_000;
/** How long a stopping server waits for the collector to take the last of the trace. */
const SHUTDOWN_EXPORT_MS = 3_000;

/**
 * Quiet time after the last request before the server asks for a garbage collection. A
 * start-up comes in bursts; between them the heap left by a burst is returned (about 6 MiB
 * of an idle server's RSS), and during one nothing is collected that would not be anyway.
 */
const IDLE_GC_MS = 500;

/** Where the server reports trouble with requests; `serve` points it at stderr. Unit events are in `events`. */
export interface ServerLog {
  info(message: string): void;
  warn(message: string): void;
}

/**
 * What one server holds at most; past a limit the request is refused with `limit_exceeded`
 * and nothing changes. Request bodies are capped separately (MAX_BODY_BYTES).
 */
export interface ServerLimits extends GraphLimits {
  /** Starts waiting at once. */
  waiting: number;
  /** Clients following the event stream at once. */
  followers: number;
}

export const DEFAULT_LIMITS: ServerLimits = { ...DEFAULT_GRAPH_LIMITS, waiting: DEFAULT_MAX_WAITING, followers: 100 };

export interface ServerOptions {
  socketPath: string;
  log?: ServerLog;
  /** Lower limits, for tests of what happens at them. */
  limits?: Partial<ServerLimits>;
  /** Share the socket with this group (0660, directory 0710), for scripts running as another user. */
  gid?: number;
  /** Coder's rules where they differ from unitsync's (`serve --coder`); unitsync's by default. */
  rules?: GraphRules;
  /**
   * Journal every change beside the socket and recover from the journal an earlier server
   * on the path left (`serve`); off by default, for servers whose state dies with them (`up`).
   */
  journal?: boolean;
  /** With `journal`: set an earlier server's journal aside and start empty (`serve --fresh`). */
  fresh?: boolean;
  /** Traces: the OTEL_* variables (and TRACEPARENT) to read; none are read without it. */
  tracing?: TracingOptions;
}

export interface TracingOptions {
  env: Record<string, string | undefined>;
  /** Quiet time after which a start-up with units still running counts as settled (`serve --settle-after`). */
  settleAfterMs?: number;
}

/** A listening server; `stop` ends every waiting start, closes the socket and removes the file. */
export interface RunningServer {
  readonly socketPath: string;
  /** The read-only view for in-process readers such as `up`'s supervisor; HTTP is the only way to change state. */
  readonly view: ServerView;
  /** What this server recovered from an earlier one's journal, if anything. */
  readonly recovered: Recovery | undefined;
  /** The W3C traceparent of the start-up's root span, for what runs the scripts (`up`). */
  readonly traceparent: string;
  stop(): Promise<void>;
}

/** Claims the socket path, binds it owner-only (or for its group), and serves the API until `stop`. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  try {
    const claim = await claimSocketPath(options.socketPath, options.gid);
    try {
      return await serveOn(options, claim);
    } catch (error) {
      claim.release();
      throw error;
    }
  } catch (error) {
    throw cannotServe(options.socketPath, error);
  }
}

/**
 * A system call that failed on the way to serving (a directory that cannot be made, a file
 * system that takes no sockets, such as /proc) is the path's fault: one line that says so.
 */
function cannotServe(socketPath: string, error: unknown): unknown {
  const { code, syscall, message = "" } = error as NodeJS.ErrnoException;
  if (error instanceof UnitsyncError || typeof code !== "string") return error;
  // "ENOENT: no such file or directory, mkdir '/proc/self/sub'" says "no such file or directory".
  const reason = message.replace(/^[A-Z_]+: /, "").replace(/, \w+ '.*'$/, "") || code;
  const during = syscall ? `${syscall}: ` : "";
  return new UnitsyncError("conflict", `cannot serve on ${socketPath}: ${during}${reason} (${code}); choose another --socket-path`);
}

/** The rest of `startServer`, run while holding the path's lock. */
async function serveOn(options: ServerOptions, claim: ClaimedPath): Promise<RunningServer> {
  const { socketPath, log, limits: lower, rules = "unitsync", tracing } = options;
  const limits = { ...DEFAULT_LIMITS, ...lower };
  // Wall-clock milliseconds with sub-millisecond steps: timelines measure short waits.
  const clock = () => performance.timeOrigin + performance.now();
  const startedAt = clock();
  const locks = new LockTable(clock);
  const env = tracing?.env ?? {};
  // The exporter is loaded only when the environment asks for traces; it costs nothing otherwise.
  const exporting = tracesConfigured(env) ? await loadExporter(env, log) : undefined;
  // Made for the graph the state is built on, before a journal is replayed into it: recovered units are traced too.
  let tracer!: StartupTracer;
  const traceGraph = (graph: UnitGraph) => {
    tracer?.shutdown();
    tracer = new StartupTracer(graph, clock, {
      parent: env.TRACEPARENT,
      root: env[ENV.traceRoot],
      settleAfterMs: tracing?.settleAfterMs,
      onSettled:
        exporting &&
        ((spans, settled) => {
          const what = `trace ${tracer.traceId} (${spans.length} spans, ${settled})`;
          exporting.exporter.send({ resource: exporting.resource, scope: exporting.scope, spans }, what);
        }),
    });
  };
  const resource = () => exporting?.resource ?? resourceOf(env);
  const { graph, waiters, events, journal, recovered } = await buildState({
    socketPath,
    clock,
    limits,
    rules,
    locks,
    journal: options.journal === true,
    fresh: options.fresh === true,
    onGraph: traceGraph,
    traceparentOf: (unit) => tracer.traceparentOf(unit),
    warn: (message) => log?.warn(message),
    info: (message) => log?.info(message),
  });
  const lockHolds = new LockHolds(locks);
  events.watch(locks);

  let server: ReturnType<typeof Bun.serve>;
  const view = viewOf(graph, waiters, events, clock, locks);
  const changes = new ChangeCount(view);
  const router = createRouter({ graph, waiters, events, clock, startedAt, maxFollowers: limits.followers, recovered, tracer, resource, locks, lockHolds, view, changes });
  const idleCollection = setTimeout(() => Bun.gc(false), IDLE_GC_MS);
  idleCollection.unref();
  const serverId = `${process.pid}@${Math.round(startedAt)}`;
  const handle = async (request: Request) => {
    idleCollection.refresh();
    const response = await router(request);
    response.headers.set(SERVER_ID_HEADER, serverId);
    return response;
  };
  // The socket is born with its final mode (and, in a setgid directory, its group): nothing
  // is chmodded or chowned by path afterwards, where someone could have swapped the file.
  const previousUmask = process.umask(claim.umask);
  try {
    server = Bun.serve({
      unix: socketPath,
      maxRequestBodySize: HTTP_BODY_CEILING,
      // A waiting start is quiet for as long as its dependencies take. Bun's per-request
      // server.timeout(request, 0) does not lift the idle timeout for a streaming answer on a
      // Unix socket (Bun 1.4.5: the connection closed after 8 to 12 s), so it is off server-wide.
      // bun-types omit idleTimeout for Unix sockets, but the runtime honours it (test/e2e/waiting).
      ...({ idleTimeout: 0 } as object),
      fetch: handle,
      error: (error) => {
        log?.warn(`request failed: ${error.message}`);
        return Response.json({ error: { code: "internal", message: "internal server error" } }, { status: 500 });
      },
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw alreadyServed(socketPath);
    }
    throw error;
  } finally {
    process.umask(previousUmask);
  }
  try {
    await checkBoundSocket(socketPath, claim);
  } catch (error) {
    await server.stop(true);
    throw error;
  }

  let stopped: Promise<void> | undefined;
  return {
    socketPath,
    view,
    recovered,
    traceparent: tracer.rootTraceparent,
    stop: () =>
      (stopped ??= (async () => {
        // The trace is taken as the server stops: what ran until now, and what still runs.
        tracer.shutdown();
        clearTimeout(idleCollection);
        const closing = { code: "server_closing", message: `the unitsync server on ${socketPath} shut down` } as const;
        locks.close();
        waiters.endAll({ type: "error", error: closing });
        lockHolds.endAll({ type: "error", error: closing });
        events.endFollowers(closing);
        changes.close();
        // Let the closing lines reach their clients, but never let a stuck connection hold shutdown.
        await Promise.race([server.stop(false), Bun.sleep(SHUTDOWN_GRACE_MS)]);
        await server.stop(true);
        await removeSocket(socketPath);
        // The journal stays: a server started again on this path goes on from it (unless --fresh).
        journal?.close();
        claim.release();
        await exporting?.exporter.shutdown(SHUTDOWN_EXPORT_MS);
      })()),
  };
}

/** The OTLP exporter and what it sends with every batch; a bad OTEL_* value is a usage error before the socket exists. */
async function loadExporter(env: Record<string, string | undefined>, log: ServerLog | undefined) {
  const config = otlpConfig(env);
  const [{ createExporter }, { SCOPE }] = await Promise.all([import("./otlp/exporter.ts"), import("./otlp/json.ts")]);
  log?.info(`sending each start-up's trace to ${config.url} (OTLP ${config.protocol})`);
  const exporter: TraceExporter = createExporter(config, log ?? { info() {}, warn() {} });
  return { exporter, resource: config.resource, scope: SCOPE };
}
