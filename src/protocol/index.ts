export * from "./api.ts";
export { UnitsyncError, usageError } from "./errors.ts";
export { VERSION } from "./version.ts";
export * from "./environment.ts";
export * from "./safe-path.ts";
export * from "./lstat.ts";
