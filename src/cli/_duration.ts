import { usageError } from "../protocol/index.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses a Go-style duration (`90s`, `5m`, `1h30m`, `250ms`, `0`) into milliseconds. */
export function parseDuration(text: string, flag: string, zeroMeans = "waits for ever"): number {
  if (text === "0") return 0;
  if (!DURATION.test(text)) {
    throw usageError(`invalid duration ${JSON.stringify(text)} for ${flag}: use e.g. 30s, 5m or 1h (0 ${zeroMeans})`);
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * UNIT_MS[unit!]!;
  return Math.round(total);
}
