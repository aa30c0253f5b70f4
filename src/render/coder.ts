import type { UnitListEntry, UnitStatusResponse } from "../protocol/index.ts";
import { formatJson, formatTable } from "./text.ts";

/**
 * The output of Coder's `exp sync status` and `list`, byte for byte: Coder's fields only,
 * its columns, and its empty forms (a JSON `null` for no rows, `""` for a unit nobody registered).
 */

export const STATUS_COLUMNS = ["depends on", "required status", "current status", "satisfied"] as const;
export const LIST_COLUMNS = ["unit", "status", "ready"] as const;

/** Coder has no `failed` status and no other requirement than `completed`: what it shows instead. */
function coderStatus(status: string): string {
  return status === "not registered" ? "" : status;
}

export function coderStatusJson(unit: string, status: UnitStatusResponse): string {
  const dependencies = status.dependencies.map((d) => ({
    depends_on: d.depends_on,
    required_status: d.required_status,
    current_status: coderStatus(d.current_status),
    is_satisfied: d.is_satisfied,
  }));
  return formatJson({
    unit_name: unit,
    status: coderStatus(status.status),
    is_ready: status.is_ready,
    dependencies: dependencies.length === 0 ? null : dependencies,
  });
}

/** The header lines, then the dependencies sorted by name in the chosen columns. */
export function coderStatusTable(unit: string, status: UnitStatusResponse, columns: readonly string[]): string {
  const sorted = [...status.dependencies].sort((a, b) => (a.depends_on < b.depends_on ? -1 : a.depends_on > b.depends_on ? 1 : 0));
  const cells: Record<string, (d: UnitStatusResponse["dependencies"][number]) => string> = {
    "depends on": (d) => d.depends_on,
    "required status": (d) => d.required_status,
    "current status": (d) => d.current_status,
    satisfied: (d) => String(d.is_satisfied),
  };
  const table =
    sorted.length === 0
      ? "No dependencies found\n"
      : formatTable(columns, sorted.map((d) => columns.map((column) => cells[column]!(d))));
  return `Unit: ${unit}\nStatus: ${status.status}\nReady: ${status.is_ready}\n\nDependencies:\n${table}`;
}

export function coderListJson(units: readonly UnitListEntry[]): string {
  return formatJson(units.length === 0 ? null : units.map((u) => ({ unit_name: u.unit_name, status: u.status, is_ready: u.is_ready })));
}

/** Sorted by unit name; `No units registered` when there is none. */
export function coderListTable(units: readonly UnitListEntry[], columns: readonly string[]): string {
  if (units.length === 0) return "No units registered\n";
  const sorted = [...units].sort((a, b) => (a.unit_name < b.unit_name ? -1 : a.unit_name > b.unit_name ? 1 : 0));
  const cells: Record<string, (u: UnitListEntry) => string> = {
    unit: (u) => u.unit_name,
    status: (u) => u.status,
    ready: (u) => String(u.is_ready),
  };
  return formatTable(columns, sorted.map((u) => columns.map((column) => cells[column]!(u))));
}
