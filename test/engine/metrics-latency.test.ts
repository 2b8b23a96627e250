import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createModel, GraphBuilder, tensor } from '../../engine/ir/index.ts';
import { measureLatency, percentile } from '../../engine/metrics/index.ts';
import { createSession } from '../../engine/runtime/index.ts';

const WIDTH = 8;
const feedsFor = (batch: number) => ({
  features: new ort.Tensor('float32', new Float32Array(batch * WIDTH).fill(0.5), [batch, WIDTH]),
});

/** A real ORT session on a one-layer classifier: features [batch, 8] → logits [batch, 3]. */
async function linearModel(): Promise<ort.InferenceSession> {
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
  let session: ort.InferenceSession;
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
