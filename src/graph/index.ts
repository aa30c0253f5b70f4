export { GraphError, type GraphErrorCode } from "./errors.ts";
export { MAX_NAME_BYTES, quote, validateUnitName } from "./names.ts";
export {
  UnitGraph,
  type DependencyState,
  type GraphChange,
  type GraphListener,
  REQUIREMENTS,
  type Requirement,
  type UnitStatus,
  type UnitSummary,
} from "./graph.ts";
