import { GraphError } from "../../src/graph/index.ts";

/** The graph's refusal of `action` as `{ code, message }`, or undefined when it went through. */
export function refusal(action: () => unknown): { code: string; message: string } | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof GraphError) return { code: error.code, message: error.message };
    throw error;
  }
  return undefined;
}
