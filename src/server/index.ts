export { startServer, type RunningServer, type ServerLog, type ServerOptions } from "./server.ts";
export { DEFAULT_START_TIMEOUT_MS } from "./routes.ts";
