export {
  UnitsyncClient,
  type ProgressLine,
  type StartedLine,
  type StartOptions,
  type WaitingLine,
} from "./client.ts";
