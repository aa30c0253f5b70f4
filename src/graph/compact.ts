import type { Edge } from "./graph.ts";

// The collections every unit holds (its edges, its dependents, what blocks it), kept small:
// a Map or Set costs 256 bytes from its first entry, an array of two 64 and the shared empty
// array nothing. Most units hold a few names or none, so a collection is a plain array until
// it holds ARRAY_LIMIT items, then a Map or Set, so that finding or removing one stays O(1)
// in a unit with thousands of edges. Arrays are changed in place; the functions that add
// return the collection to keep, which is a new one when the empty one or an array outgrew.

/** Past this many items a linear search costs more than a Map's bytes save. */
const ARRAY_LIMIT = 8;

/** Unit names in the order they were added. */
export type Names = string[] | Set<string>;

/** Edges in the order they were declared, found by the name they lead to. */
export type Edges = Edge[] | Map<string, Edge>;

/** The empty collection every unit starts with, shared: frozen, so that a forgotten `withName` throws. */
export const NO_NAMES: Names = Object.freeze([]) as unknown as string[];
export const NO_EDGES: Edges = Object.freeze([]) as unknown as Edge[];

export function countOf(collection: Names | Edges): number {
  return Array.isArray(collection) ? collection.length : collection.size;
}

/** `names` with `name` added at the end, unless it is there already. */
export function withName(names: Names, name: string): Names {
  if (!Array.isArray(names)) return names.add(name);
  if (names.includes(name)) return names;
  if (names === NO_NAMES) return [name];
  if (names.length < ARRAY_LIMIT) {
    names.push(name);
    return names;
  }
  return new Set(names).add(name);
}

/** Removes `name`; true when it was there. */
export function removeName(names: Names, name: string): boolean {
  if (!Array.isArray(names)) return names.delete(name);
  const index = names.indexOf(name);
  if (index < 0) return false;
  names.splice(index, 1);
  return true;
}

export function edgeTo(edges: Edges, name: string): Edge | undefined {
  if (!Array.isArray(edges)) return edges.get(name);
  for (const edge of edges) if (edge.dependsOn === name) return edge;
  return undefined;
}

export function edgesIn(edges: Edges): Iterable<Edge> {
  return Array.isArray(edges) ? edges : edges.values();
}

/** `edges` with `edge` in place of the edge to the same name (keeping its place, as `Map.set` does), or at the end. */
export function withEdge(edges: Edges, edge: Edge): Edges {
  if (!Array.isArray(edges)) return edges.set(edge.dependsOn, edge);
  const index = edges.findIndex((each) => each.dependsOn === edge.dependsOn);
  if (index >= 0) {
    edges[index] = edge;
    return edges;
  }
  if (edges === NO_EDGES) return [edge];
  if (edges.length < ARRAY_LIMIT) {
    edges.push(edge);
    return edges;
  }
  return new Map([...edges, edge].map((each) => [each.dependsOn, each]));
}

/** Removes the edge to `name`, if any. */
export function removeEdge(edges: Edges, name: string): void {
  if (!Array.isArray(edges)) {
    edges.delete(name);
    return;
  }
  const index = edges.findIndex((edge) => edge.dependsOn === name);
  if (index >= 0) edges.splice(index, 1);
}
