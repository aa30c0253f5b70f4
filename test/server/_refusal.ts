import { UnitsyncError } from "../../src/protocol/index.ts";

/** What the server refused, as `{ code, message }`; fails the test when the request went through. */
export async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof UnitsyncError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error("expected a refusal");
}
