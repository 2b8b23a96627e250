import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, GraphBuilder, tensor } from '../../engine/ir/index.ts';
import { measureLatencies, measureLatency, percentile } from '../../engine/metrics/index.ts';
import { createSession, type EngineSession } from '../../engine/runtime/index.ts';

const WIDTH = 8;
const feedsFor = (batch: number) => ({
  features: new ort.Tensor('float32', new Float32Array(batch * WIDTH).fill(0.5), [batch, WIDTH]),
});

/** A real ORT session on a one-layer classifier: features [batch, 8] → logits [batch, 3]. */
async function linearModel(): Promise<EngineSession> {
  const b = new GraphBuilder();
  const x = b.input('features', 'float32', ['batch', WIDTH]);
  const w = b.initializer(
    'w',
    tensor(
      'float32',
      [WIDTH, 3],
      Array.from({ length: WIDTH * 3 }, (_, i) => i / 10),
    ),
  );
  b.output(b.op('MatMul', [x, w], {}, 'logits'), 'float32', ['batch', 3]);
  return (await createSession(createModel(b.graph))).session;
}

describe('percentile', () => {
  it('interpolates linearly between ranks, as numpy.percentile does', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 95)).toBeCloseTo(3.85, 12);
    expect(percentile([7], 95)).toBe(7);
    expect(() => percentile([], 50)).toThrow('percentile of no values');
  });
});

describe('measureLatency', () => {
  let session: EngineSession;
  beforeAll(async () => {
    session = await linearModel();
  });

  it('runs warm-up, then timed runs, at batch 1 and then batch 32 on a real session', async () => {
    const batches: number[] = [];
    let runs = 0;
    const counting = {
      run: (feeds: Record<string, ort.Tensor>) => {
        runs++;
        batches.push(feeds.features.dims[0]);
        return session.run(feeds);
      },
    };
    const report = await measureLatency(counting, feedsFor, { warmup: 3, runs: 20 });
    expect(runs).toBe(2 * (3 + 20));
    expect(new Set(batches.slice(0, 23))).toEqual(new Set([1]));
    expect(new Set(batches.slice(23))).toEqual(new Set([32]));
    expect(report).toMatchObject({ runs: 20, warmup: 3, throughput_batch: 32 });
    expect(report.p50_ms).toBeGreaterThan(0);
    expect(report.p95_ms).toBeGreaterThanOrEqual(report.p50_ms);
    expect(report.throughput_rows_per_s).toBeGreaterThan(0);
  });

  it('measures the time a run takes: 4 ms of extra work per run shows in p50 and throughput', async () => {
    const slow = {
      run: async (feeds: Record<string, ort.Tensor>) => {
        await new Promise((resolve) => setTimeout(resolve, 4));
        return session.run(feeds);
      },
    };
    const report = await measureLatency(slow, feedsFor, { warmup: 1, runs: 10 });
    expect(report.p50_ms).toBeGreaterThanOrEqual(4);
    // 32 rows per run of at least 4 ms: at most 8000 rows/s.
    expect(report.throughput_rows_per_s).toBeLessThanOrEqual(8000);
  });

  it('names the batch size when the model rejects the feeds, and rejects bad options', async () => {
    const wrongWidth = (batch: number) => ({
      features: new ort.Tensor('float32', new Float32Array(batch * 3), [batch, 3]),
    });
    await expect(measureLatency(session, wrongWidth, { runs: 1 })).rejects.toThrow(
      /latency: the model failed on a batch of 1: /,
    );
    await expect(measureLatency(session, feedsFor, { runs: 0 })).rejects.toThrow(
      'latency: runs must be an integer ≥ 1, got 0',
    );
  });
});

describe('measureLatencies', () => {
  it('interleaves the models, turning the order each round, so that neither is always measured first', async () => {
    const session = await linearModel();
    const calls: string[] = [];
    const named = (name: string) => ({
      session: { run: (feeds: Record<string, ort.Tensor>) => (calls.push(name), session.run(feeds)) },
      feedsFor,
    });
    const [a, b] = await measureLatencies([named('a'), named('b')], { warmup: 2, runs: 6 });
    // Batch 1 then batch 32, (2 + 6) rounds each, a round running both models: ab, ba, ab, ...
    expect(calls).toHaveLength(2 * 2 * 8);
    expect(calls.slice(0, 6).join('')).toBe('abbaab');
    expect(a).toMatchObject({ runs: 6, warmup: 2 });
    expect(b.iqr_ms).toBeGreaterThanOrEqual(0);
  });

  it('measures two copies of one model within noise of each other', async () => {
    // Big enough that a run takes a measurable time (a 256 × 256 MatMul at batch 32).
    const width = 256;
    const copy = async () => {
      const b = new GraphBuilder();
      const x = b.input('features', 'float32', ['batch', width]);
      const w = b.initializer(
        'w',
        tensor(
          'float32',
          [width, width],
          Array.from({ length: width * width }, (_, i) => (i % 7) / 7),
        ),
      );
      b.output(b.op('MatMul', [x, w], {}, 'logits'), 'float32', ['batch', width]);
      // One intra-op thread, as the evaluation measures (activities/evaluate.ts: with two, copies differed by 30 %).
      return (await createSession(createModel(b.graph), { threads: 1 })).session;
    };
    const wide = (batch: number) => ({
      features: new ort.Tensor('float32', new Float32Array(batch * width).fill(0.5), [batch, width]),
    });
    const [first, second] = await measureLatencies(
      [
        { session: await copy(), feedsFor: wide },
        { session: await copy(), feedsFor: wide },
      ],
      { warmup: 20, runs: 200 },
    );
    const ratio = first.p50_ms / second.p50_ms;
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.25);
    const throughput = first.throughput_rows_per_s / second.throughput_rows_per_s;
    expect(throughput).toBeGreaterThan(0.8);
    expect(throughput).toBeLessThan(1.25);
  });
});
