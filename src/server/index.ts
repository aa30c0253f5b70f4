export {
  DEFAULT_LIMITS,
  startServer,
  type RunningServer,
  type ServerLimits,
  type ServerLog,
  type ServerOptions,
} from "./server.ts";
export { DEFAULT_START_TIMEOUT_MS } from "./routes.ts";
export { groupId } from "./groups.ts";
export { restartWithoutOptimizingJit } from "./jit.ts";
export type { ServerView } from "./view.ts";
export type { WaitingStart } from "./waiters.ts";
