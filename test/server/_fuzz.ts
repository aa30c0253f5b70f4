// A seeded random source for the fuzz and model tests: the same seed makes the same cases, so a
// failure printed with its seed re-runs exactly with UNITSYNC_FUZZ_SEED=<seed>.

/** The environment variable that pins the seed of every fuzz test. */
export const SEED_VARIABLE = "UNITSYNC_FUZZ_SEED";

/** The pinned seed, or a fresh one: each run without the variable explores new cases. */
export function fuzzSeed(): number {
  const pinned = process.env[SEED_VARIABLE];
  if (pinned !== undefined && pinned !== "") {
    const seed = Number(pinned);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Error(`${SEED_VARIABLE} must be a whole number from 0 to ${0xffffffff}, not ${JSON.stringify(pinned)}`);
    }
    return seed;
  }
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

/** How to re-run a fuzz test with `seed`, for failure messages. */
export function rerunHint(seed: number, file: string): string {
  return `fuzz seed ${seed}; re-run with ${SEED_VARIABLE}=${seed} npx bun test ${file}`;
}

/** mulberry32: tiny, fast, and good enough to pick test cases. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number from 0 to `n` - 1. */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A whole number from `min` to `max`, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** One of `entries`, each as likely as its weight. */
  weighted<T>(entries: ReadonlyArray<readonly [number, T]>): T {
    const total = entries.reduce((sum, [weight]) => sum + weight, 0);
    let roll = this.next() * total;
    for (const [weight, value] of entries) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return entries[entries.length - 1]![1];
  }

  /** `length` characters drawn from `alphabet` (an array, so astral characters stay whole). */
  string(length: number, alphabet: readonly string[]): string {
    let text = "";
    for (let i = 0; i < length; i++) text += this.pick(alphabet);
    return text;
  }
}

/** Characters that make unit names and arguments awkward: unicode, quotes, separators, percent signs. */
export const AWKWARD_CHARACTERS: readonly string[] = [
  ..."abcxyz019-_.",
  " ", "/", "\\", "%", "?", "#", "&", "=", "+", ":", ";", ",", "\"", "'", "`", "$", "*", "[", "]", "{", "}", "<", ">", "|", "~", "!", "@",
  "é", "ß", "Ω", "日", "本", "😀", "🧪", "\u200b", "\u202e", "\ufeff", "\u00a0",
];
