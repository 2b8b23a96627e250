// Serving speed of a model as the policy gate sees it: latency at batch 1 (one request) and throughput at batch 32
// (a batched backlog), each measured after warm-up runs so that one-time costs (allocation, kernel selection)
// do not count.
import type { InferenceSession, Tensor } from 'onnxruntime-node';

export interface LatencyOptions {
  /** Untimed runs before each measurement. Default 5. */
  warmup?: number;
  /** Timed runs per measurement. Default 50. */
  runs?: number;
  /** Batch size of the throughput measurement. Default 32. */
  throughputBatch?: number;
}

export interface LatencyReport {
  /** Batch 1: median and 95th percentile of the per-run wall time, in milliseconds. */
  p50_ms: number;
  p95_ms: number;
  /** Rows per second over the timed runs at `throughput_batch`. */
  throughput_rows_per_s: number;
  throughput_batch: number;
  runs: number;
  warmup: number;
}

/** Feeds for one run of `batch` rows; called once per batch size, outside the timed region. */
export type FeedsFor = (batch: number) => Record<string, Tensor>;

/** The q-th percentile (0–100) of ascending `sorted`, interpolating linearly between ranks as numpy does. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  const rank = (q / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.min(lower + 1, sorted.length - 1);
  return sorted[lower] + (rank - lower) * (sorted[upper] - sorted[lower]);
}

async function timeRuns(
  session: Pick<InferenceSession, 'run'>,
  feeds: Record<string, Tensor>,
  warmup: number,
  runs: number,
  batch: number,
): Promise<number[]> {
  const run = async () => {
    try {
      await session.run(feeds);
    } catch (err) {
      throw new Error(`latency: the model failed on a batch of ${batch}: ${(err as Error).message}`);
    }
  };
  for (let i = 0; i < warmup; i++) await run();
  const millis: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await run();
    millis.push(performance.now() - start);
  }
  return millis;
}

export async function measureLatency(
  session: Pick<InferenceSession, 'run'>,
  feedsFor: FeedsFor,
  options: LatencyOptions = {},
): Promise<LatencyReport> {
  const { warmup = 5, runs = 50, throughputBatch = 32 } = options;
  for (const [name, value, min] of [
    ['warmup', warmup, 0],
    ['runs', runs, 1],
    ['throughputBatch', throughputBatch, 1],
  ] as const) {
    if (!Number.isInteger(value) || value < min)
      throw new RangeError(`latency: ${name} must be an integer ≥ ${min}, got ${value}`);
  }

  const single = (await timeRuns(session, feedsFor(1), warmup, runs, 1)).sort((a, b) => a - b);
  const batched = await timeRuns(session, feedsFor(throughputBatch), warmup, runs, throughputBatch);
  const batchedSeconds = batched.reduce((sum, ms) => sum + ms, 0) / 1000;
  return {
    p50_ms: percentile(single, 50),
    p95_ms: percentile(single, 95),
    throughput_rows_per_s: (throughputBatch * runs) / batchedSeconds,
    throughput_batch: throughputBatch,
    runs,
    warmup,
  };
}
