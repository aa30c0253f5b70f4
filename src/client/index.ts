export {
  DEFAULT_REQUEST_TIMEOUT_MS,
  UnitsyncClient,
  type ProgressLine,
  type AcquiredLine,
  type Held,
  type LockWaitingLine,
  type RideOver,
  type StartedLine,
  type StartOptions,
  type WaitingLine,
} from "./client.ts";
