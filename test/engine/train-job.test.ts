import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { irisJsonl } from '../helpers/iris.ts';
import { loadCheckpoint } from '../../engine/train/checkpoint.ts';
import { resumedJob, runTrainJob, type TrainJob } from '../../engine/train/job.ts';

let dir: string;
let job: TrainJob;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-job-'));
  const train = join(dir, 'iris.jsonl');
  await writeFile(train, irisJsonl());
  job = {
    train,
    hidden: [8],
    method: 'full',
    config: {
      batchSize: 16,
      maxSteps: 12,
      lr: 0.01,
      optimizer: { kind: 'adamw' },
      loss: { kind: 'cross-entropy' },
      seed: 2,
    },
  };
});

describe('training job', () => {
  it('holds out 20 % of each class when no eval file is given, and scores the exported model on it', async () => {
    const out = join(dir, 'whole');
    const result = await runTrainJob(job, { out });
    expect(result.stopped).toBe('completed');
    expect(result.metrics!.per_class.setosa.support).toBe(10);
    const report = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    expect(report.accuracy).toBe(result.metrics!.accuracy);
    expect(report.train_loss).toHaveLength(12);
  });

  it('after an abort, resuming from its checkpoint exports the same bytes as an uninterrupted job', async () => {
    const controller = new AbortController();
    const aborted = await runTrainJob(job, {
      out: join(dir, 'aborted'),
      signal: controller.signal,
      onProgress: (p) => p.step === 5 && controller.abort(),
    });
    expect(aborted).toMatchObject({ stopped: 'aborted', step: 5 });
    expect(aborted.metrics).toBeUndefined();
    const checkpoint = await loadCheckpoint(aborted.lastCheckpoint!);
    const resumed = await runTrainJob(resumedJob(checkpoint), { out: join(dir, 'resumed'), resume: checkpoint });
    expect(resumed.step).toBe(12);
    const model = (name: string) => readFile(join(dir, name, 'model.onnx'));
    expect((await model('resumed')).equals(await model('whole'))).toBe(true);
  });

  it('refuses to resume on data that changed since the checkpoint', async () => {
    const checkpoint = await loadCheckpoint(join(dir, 'aborted/checkpoints/step-00000005'));
    const changed = join(dir, 'changed.jsonl');
    await writeFile(changed, irisJsonl().replace('5.1', '5.2'));
    await expect(
      runTrainJob(resumedJob(checkpoint, { train: changed }), { out: join(dir, 'x'), resume: checkpoint }),
    ).rejects.toThrow(/train file changed since the checkpoint was written/);
  });
});
