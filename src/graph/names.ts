import { GraphError } from "./errors.ts";

/** Longest unit name accepted, in UTF-8 bytes: names end up in logs, tables and file names. */
export const MAX_NAME_BYTES = 255;

// C0 controls, DEL and C1 controls: they would corrupt one-line logs and tables.
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

/** Quotes a unit name the way every message shows it: `"git-clone"`, with every control character escaped. */
export function quote(name: string): string {
  // JSON escapes C0 controls but leaves DEL and C1 raw; escape those too so a message stays one clean line.
  return JSON.stringify(name).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** Throws `invalid_name` unless `name` is a usable unit name; `role` says which argument it was. */
export function validateUnitName(name: unknown, role = "unit name"): asserts name is string {
  if (typeof name !== "string" || name.length === 0) {
    throw new GraphError("invalid_name", `${role} is required`);
  }
  if (CONTROL_CHARACTER.test(name)) {
    throw new GraphError("invalid_name", `${role} ${quote(name)} contains a control character`);
  }
  const bytes = utf8Length(name);
  if (bytes > MAX_NAME_BYTES) {
    throw new GraphError(
      "invalid_name",
      `${role} is ${bytes} bytes long; the limit is ${MAX_NAME_BYTES}`,
    );
  }
}
