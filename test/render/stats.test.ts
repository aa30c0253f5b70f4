// The benchmark's statistics on fixed samples; the expected p-values come from SciPy 1.17
// (scipy.stats.mannwhitneyu, two-sided; method="exact" without ties, "asymptotic" with them).
import { expect, test } from "bun:test";
import { describe as describeSample, mannWhitney, normalCdf, quantile, uDistribution } from "../../src/render/stats.ts";

test("median, mean ± σ, min…max and p95 of ten values agree with NumPy", () => {
  const stats = describeSample([3.1, 1.2, 5.5, 2.2, 9.9, 4.0, 7.7, 6.1, 8.8, 0.5])!;
  expect(stats.n).toBe(10);
  expect(stats.median).toBeCloseTo(4.75, 10);
  expect(stats.mean).toBeCloseTo(4.9, 10);
  expect(stats.stddev).toBeCloseTo(3.2359096265364258, 10);
  expect({ min: stats.min, max: stats.max }).toEqual({ min: 0.5, max: 9.9 });
  expect(stats.p95).toBeCloseTo(9.405, 10);
});

test.each([
  [[7], 0.5, 7],
  [[1, 2], 0.5, 1.5],
  [[1, 2, 3, 4], 0.95, 3.85],
  [[10, 20, 30], 0, 10],
  [[10, 20, 30], 1, 30],
])("quantile(%j, %d) = %d", (sorted, q, expected) => {
  expect(quantile(sorted, q)).toBeCloseTo(expected, 10);
});

test("a single value has no spread, and an empty sample no statistics", () => {
  expect(describeSample([42])).toEqual({ n: 1, median: 42, mean: 42, stddev: 0, min: 42, max: 42, p95: 42 });
  expect(describeSample([])).toBeUndefined();
});

test.each([
  [[1, 2, 3], [4, 5, 6], 0, 0.1],
  [[1, 3, 5], [2, 4, 6], 3, 0.7],
  [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0, 0.007936507936507936],
  [[412.3, 405.1, 431.9, 398.7, 420.2, 415.5], [512.8, 498.2, 530.1, 505.5, 489.9, 520.3], 0, 0.0021645021645021645],
  [[10.5, 12.1, 9.8, 11.3, 10.9, 13.2, 10.1], [11.0, 12.5, 10.2, 14.1, 11.8], 11, 0.3434343434343435],
])("Mann-Whitney U, exact: %j vs %j gives U = %d, p = %d", (a, b, u, p) => {
  const result = mannWhitney(a, b)!;
  expect({ u: result.u, method: result.method }).toEqual({ u, method: "exact" });
  expect(result.p).toBeCloseTo(p, 12);
});

test("the test is symmetric: swapping the samples gives U' = mn - U and the same p", () => {
  const a = [10.5, 12.1, 9.8, 11.3, 10.9, 13.2, 10.1];
  const b = [11.0, 12.5, 10.2, 14.1, 11.8];
  const [forward, backward] = [mannWhitney(a, b)!, mannWhitney(b, a)!];
  expect(backward.u).toBe(35 - forward.u);
  expect(backward.p).toBeCloseTo(forward.p, 12);
});

test.each([
  ["with ties", [0, 0, 1, 2, 3], [0, 2, 4, 5, 6, 7], 5.5, 0.09647980350895838],
  ["over the exact limit", Array.from({ length: 60 }, (_, i) => 2 * i), Array.from({ length: 60 }, (_, i) => 2 * i + 1), 1770, 0.8769515201868247],
])("Mann-Whitney U, normal approximation %s", (_, a, b, u, p) => {
  const result = mannWhitney(a, b)!;
  expect({ u: result.u, method: result.method }).toEqual({ u, method: "normal" });
  expect(result.p).toBeCloseTo(p, 6);
});

test("identical samples are no evidence of a difference, and an empty one gives no test", () => {
  expect(mannWhitney([5, 5, 5], [5, 5, 5])).toEqual({ u: 4.5, p: 1, method: "normal" });
  expect(mannWhitney([], [1])).toBeUndefined();
});

test("U's exact distribution for 3 and 3 values is the counts 1 1 2 3 3 3 3 2 1 1 over 20", () => {
  expect(uDistribution(3, 3).map((p) => Math.round(p * 20))).toEqual([1, 1, 2, 3, 3, 3, 3, 2, 1, 1]);
  expect(uDistribution(50, 50).reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 10);
});

test.each([
  [0, 0.5],
  [1.959963984540054, 0.975],
  [-1, 0.15865525393145707],
])("Φ(%d) = %d", (z, expected) => {
  expect(normalCdf(z)).toBeCloseTo(expected, 6);
});
