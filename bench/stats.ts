/** Median, min and max of a non-empty list of times. */
export function summarize(times: readonly number[]): { median: number; min: number; max: number } {
  if (times.length === 0) throw new Error('no times to summarize');
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}
