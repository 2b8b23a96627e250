// Serving speed of a model as the policy gate sees it: latency at batch 1 (one request) and throughput at batch 32
// (a batched backlog), each measured after warm-up runs so that one-time costs (allocation, kernel selection)
// do not count. Models compared with each other (candidate and production) are measured together, their runs
// interleaved and the order turned each round: measured one after the other, the first pays what the process
// warms up (its allocator, caches, CPU frequency) and a faster model can look slower than an identical copy.
import type { Tensor } from 'onnxruntime-node';
import type { EngineSession } from '../runtime/index.ts';

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
  /** Rows per second at `throughput_batch`, from the median timed run. */
  throughput_rows_per_s: number;
  throughput_batch: number;
  /** Spread of the batch-1 times: the interquartile range, in milliseconds (absent in reports made before it). */
  iqr_ms?: number;
  runs: number;
  warmup: number;
}

/** One model to measure: its session and its feeds (each model may encode the same rows its own way). */
export type Measured = { session: Pick<EngineSession, 'run'>; feedsFor: FeedsFor };

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

const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

/** One timed run of `model` on `feeds`, in milliseconds; the model's failure names the batch size. */
async function timedRun(model: Measured, feeds: Record<string, Tensor>, batch: number): Promise<number> {
  const start = performance.now();
  try {
    await model.session.run(feeds);
  } catch (err) {
    throw new Error(`latency: the model failed on a batch of ${batch}: ${(err as Error).message}`);
  }
  return performance.now() - start;
}

/**
 * Per model, the times of `runs` timed runs at `batch` after `warmup` untimed ones; round r runs the models in an
 * order turned by r, so each is first as often as the others.
 */
async function interleavedRuns(models: Measured[], batch: number, warmup: number, runs: number): Promise<number[][]> {
  const feeds = models.map((model) => model.feedsFor(batch));
  const times = models.map(() => [] as number[]);
  for (let round = 0; round < warmup + runs; round++) {
    for (let k = 0; k < models.length; k++) {
      const m = (round + k) % models.length;
      const ms = await timedRun(models[m], feeds[m], batch);
      if (round >= warmup) times[m].push(ms);
    }
  }
  return times;
}

/** Latency and throughput of each model, measured together (see the top of this file). */
export async function measureLatencies(models: Measured[], options: LatencyOptions = {}): Promise<LatencyReport[]> {
  const { warmup = 5, runs = 50, throughputBatch = 32 } = options;
  for (const [name, value, min] of [
    ['warmup', warmup, 0],
    ['runs', runs, 1],
    ['throughputBatch', throughputBatch, 1],
  ] as const) {
    if (!Number.isInteger(value) || value < min)
      throw new RangeError(`latency: ${name} must be an integer ≥ ${min}, got ${value}`);
  }
  const single = await interleavedRuns(models, 1, warmup, runs);
  const batched = await interleavedRuns(models, throughputBatch, warmup, runs);
  return models.map((_, m) => {
    const sorted = single[m].sort((a, b) => a - b);
    // From the median run, not the total: one run stalled by another process would otherwise move it.
    return {
      p50_ms: percentile(sorted, 50),
      p95_ms: percentile(sorted, 95),
      iqr_ms: percentile(sorted, 75) - percentile(sorted, 25),
      throughput_rows_per_s: throughputBatch / (median(batched[m]) / 1000),
      throughput_batch: throughputBatch,
      runs,
      warmup,
    };
  });
}

/** One model's latency and throughput. */
export async function measureLatency(
  session: Pick<EngineSession, 'run'>,
  feedsFor: FeedsFor,
  options: LatencyOptions = {},
): Promise<LatencyReport> {
  return (await measureLatencies([{ session, feedsFor }], options))[0];
}
