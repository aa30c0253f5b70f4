export { GraphError, type GraphErrorCode } from "./errors.ts";
export { closestName, editDistance, MAX_NAME_BYTES, notUtf8, quote, validateUnitName } from "./names.ts";
export {
  UnitGraph,
  type Clock,
  DEFAULT_GRAPH_LIMITS,
  type GraphLimits,
  type DependencyState,
  type Edge,
  type GraphChange,
  type GraphListener,
  type GraphRules,
  QUOTED_REASON_LENGTH,
  REQUIREMENTS,
  type Requirement,
  type UnitStatus,
  type UnitSummary,
  type UnitTimes,
} from "./graph.ts";
export { buildTimeline, type MissingUnit, type Span, type Timeline, type TimelineEntry } from "./timeline.ts";
