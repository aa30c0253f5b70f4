export { UnitsyncClient, type StartedLine, type WaitingLine } from "./client.ts";
