/** A benchmark: measures something against a baseline measured in the same run, and says whether it meets its target. */
export interface Metric {
  name: string;
  value: number;
  unit: string;
}

export interface BenchResult {
  metrics: Metric[];
  /** The target from the issue, e.g. "backup-db custom <= 1.10x bare pg_dump", and whether this run met it. */
  targets: { description: string; met: boolean; actual: string }[];
  notes?: string[];
}

export interface Benchmark {
  name: string;
  description: string;
  run(log: (line: string) => void): Promise<BenchResult>;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}
