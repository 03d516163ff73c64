/*
 * Summaries of timing samples.
 *
 * A benchmark reports the median, not the mean: one slow outlier (a page-cache miss, a timer
 * interrupt, the garbage collector) moves a mean a lot and a median not at all, so medians of
 * two runs on the same machine are comparable. The 95th percentile shows the tail a user feels
 * now and then. Percentiles use the nearest-rank method: the value at rank ⌈p·n⌉ of the sorted
 * samples, always one of the measured values.
 */

export interface Summary {
  count: number;
  median: number;
  p95: number;
  min: number;
  max: number;
}

/** The nearest-rank percentile (0 < p ≤ 100) of the samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error('percentile of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** The middle value; for an even count, the mean of the two middle values. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    count: samples.length,
    median: median(samples),
    p95: percentile(samples, 95),
    min: Math.min(...samples),
    max: Math.max(...samples),
  };
}

/** Milliseconds since `start` (a process.hrtime.bigint() reading). */
export function millisecondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** A time in a report: two decimals below 10 ms, one above. */
export function formatMs(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 1)} ms`;
}

/** One row of the benchmarks' tables: a label in `width` columns, then median, p95, min, max. */
export function summaryRow(label: string, width: number, s?: Summary): string {
  const cells = s ? [s.median, s.p95, s.min, s.max].map(formatMs) : ['median', 'p95', 'min', 'max'];
  return `  ${label.padEnd(width)}${cells.map((cell) => cell.padStart(11)).join('')}`;
}
