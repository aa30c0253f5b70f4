/** A sample of durations summed up the way the benchmark reports them, in milliseconds. */
export interface Stats {
  n: number;
  median: number;
  mean: number;
  /** The sample standard deviation (n - 1 in the denominator); 0 for fewer than two values. */
  stddev: number;
  min: number;
  max: number;
  p95: number;
}

/**
 * The q-quantile of sorted values, interpolating linearly between the two nearest ranks
 * (Hyndman and Fan's type 7, the default of R, NumPy and spreadsheets), so that with ten
 * runs the p95 lies between the two slowest instead of being the slowest.
 */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const at = (sorted.length - 1) * q;
  const below = Math.floor(at);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (at - below);
}

/** Median, mean ± σ, min…max and p95 of a sample; `undefined` for an empty one. */
export function describe(samples: readonly number[]): Stats | undefined {
  const n = samples.length;
  if (n === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, value) => sum + value, 0) / n;
  const squares = sorted.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  return {
    n,
    median: quantile(sorted, 0.5),
    mean,
    stddev: n < 2 ? 0 : Math.sqrt(squares / (n - 1)),
    min: sorted[0]!,
    max: sorted[n - 1]!,
    p95: quantile(sorted, 0.95),
  };
}

/** The outcome of a two-sided Mann-Whitney U test. */
export interface RankTest {
  /** How many pairs (a from the first sample, b from the second) have a > b, ties counting one half. */
  u: number;
  /** The two-sided p-value: how likely a difference at least this large is when both samples come from one distribution. */
  p: number;
  /** `exact` from U's distribution without ties; `normal` from the normal approximation with tie and continuity corrections. */
  method: "exact" | "normal";
}

/** Up to this many values in each sample, and without ties, the p-value is exact. */
const EXACT_LIMIT = 50;

/**
 * The Mann-Whitney U test (Wilcoxon rank-sum), two-sided: do the two samples come from one
 * distribution? It compares ranks, not means, so it needs no normal distribution and one
 * slow outlier cannot dominate it; exact for small samples without ties.
 */
export function mannWhitney(a: readonly number[], b: readonly number[]): RankTest | undefined {
  const m = a.length;
  const n = b.length;
  if (m === 0 || n === 0) return undefined;
  const pooled = [...a.map((value) => ({ value, first: true })), ...b.map((value) => ({ value, first: false }))];
  pooled.sort((x, y) => x.value - y.value);
  // Ranks from 1, tied values sharing their average rank; the tie sizes correct the variance.
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < pooled.length; ) {
    let j = i;
    while (j + 1 < pooled.length && pooled[j + 1]!.value === pooled[i]!.value) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (pooled[k]!.first) rankSumA += rank;
    const size = j - i + 1;
    tieTerm += size ** 3 - size;
    i = j + 1;
  }
  const u = rankSumA - (m * (m + 1)) / 2;
  if (tieTerm === 0 && m <= EXACT_LIMIT && n <= EXACT_LIMIT) {
    // Without ties U is a whole number; P(U >= u) = P(U <= mn - u) by symmetry.
    const cumulative = cumulativeU(m, n);
    const below = cumulative[u]!;
    const above = cumulative[m * n - u]!;
    return { u, p: Math.min(1, 2 * Math.min(below, above)), method: "exact" };
  }
  const total = m + n;
  const variance = ((m * n) / 12) * (total + 1 - tieTerm / (total * (total - 1)));
  if (variance <= 0) return { u, p: 1, method: "normal" };
  const z = Math.max(0, Math.abs(u - (m * n) / 2) - 0.5) / Math.sqrt(variance);
  return { u, p: Math.min(1, 2 * (1 - normalCdf(z))), method: "normal" };
}

/**
 * P(U <= u) for sizes m and n, made once per pair of sizes: a benchmark's rows (every unit,
 * every measure) mostly share one pair, so comparing many units costs one distribution.
 */
const cumulativeCache = new Map<string, number[]>();
function cumulativeU(m: number, n: number): number[] {
  const key = `${m},${n}`;
  let cumulative = cumulativeCache.get(key);
  if (!cumulative) {
    let sum = 0;
    cumulative = uDistribution(m, n).map((p) => (sum += p));
    cumulativeCache.set(key, cumulative);
  }
  return cumulative;
}

/**
 * P(U = u) for samples of m and n distinct values from one distribution, u = 0..mn. The
 * largest value comes from the first sample with probability i/(i+j), and then beats all j
 * of the second: P(i,j)[u] = i/(i+j)·P(i-1,j)[u-j] + j/(i+j)·P(i,j-1)[u]. Row by row, so
 * memory is n·mn numbers and time m·n·mn (bounded by EXACT_LIMIT).
 */
export function uDistribution(m: number, n: number): number[] {
  let previous: number[][] = Array.from({ length: n + 1 }, () => [1]);
  for (let i = 1; i <= m; i++) {
    const row: number[][] = [[1]];
    for (let j = 1; j <= n; j++) {
      const cell = new Array<number>(i * j + 1).fill(0);
      const fromFirst = previous[j]!;
      const fromSecond = row[j - 1]!;
      for (let u = 0; u < fromFirst.length; u++) cell[u + j]! += (i / (i + j)) * fromFirst[u]!;
      for (let u = 0; u < fromSecond.length; u++) cell[u]! += (j / (i + j)) * fromSecond[u]!;
      row.push(cell);
    }
    previous = row;
  }
  return previous[n]!;
}

/** Φ(z), the standard normal distribution function, via erf (Abramowitz and Stegun 7.1.26, error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
