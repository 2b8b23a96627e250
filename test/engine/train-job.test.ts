import { beforeAll, describe, expect, it } from 'vitest';
import { irisJsonl } from '../helpers/iris.ts';
import { checkpointOf, type CheckpointFiles } from '../../engine/train/checkpoint.ts';
import { resumedJob, runTrainJob, type JobResult, type TrainJob } from '../../engine/train/job.ts';

let job: TrainJob;
let whole: JobResult;
const checkpoints = new Map<number, CheckpointFiles>();

beforeAll(() => {
  job = {
    train: 'iris.jsonl',
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
  it('holds out 20 % of each class when no eval data is given, and scores the exported model on it', async () => {
    whole = await runTrainJob(job, { train: irisJsonl() });
    expect(whole.stopped).toBe('completed');
    expect(whole.metrics!.per_class.setosa.support).toBe(10);
    const report = JSON.parse(whole.metricsJson!);
    expect(report.accuracy).toBe(whole.metrics!.accuracy);
    expect(report.train_loss).toHaveLength(12);
  });

  it('takes its data as text or as bytes, to the same model', async () => {
    const fromBytes = await runTrainJob(job, { train: new TextEncoder().encode(irisJsonl()) });
    expect(Buffer.from(fromBytes.model!).equals(whole.model!)).toBe(true);
  });

  it('after an abort, resuming from its checkpoint exports the same bytes as an uninterrupted job', async () => {
    const controller = new AbortController();
    const aborted = await runTrainJob(
      job,
      { train: irisJsonl() },
      {
        signal: controller.signal,
        onProgress: (p) => p.step === 5 && controller.abort(),
        onCheckpoint: (files, step) => void checkpoints.set(step, files),
      },
    );
    // It stops where the run that made step 5 ended (updates run in chunks: engine/train/chunk.ts), before the end.
    expect(aborted.stopped).toBe('aborted');
    expect(aborted.step).toBeGreaterThanOrEqual(5);
    expect(aborted.step).toBeLessThan(12);
    expect(aborted.model).toBeUndefined();
    expect(aborted.metrics).toBeUndefined();
    expect([...checkpoints.keys()]).toEqual([aborted.step]);
    const checkpoint = checkpointOf(checkpoints.get(aborted.step)!, `step-${String(aborted.step).padStart(8, '0')}`);
    expect(checkpoint.state.run).toMatchObject({ train: 'iris.jsonl', sha256: { train: expect.any(String) } });
    const resumed = await runTrainJob(resumedJob(checkpoint), { train: irisJsonl() }, { resume: checkpoint });
    expect(resumed.step).toBe(12);
    expect(Buffer.from(resumed.model!).equals(whole.model!)).toBe(true);
  });

  it('refuses to resume on data that changed since the checkpoint', async () => {
    const [step, files] = [...checkpoints][0];
    const checkpoint = checkpointOf(files, `step-${String(step).padStart(8, '0')}`);
    const changed = irisJsonl().replace('5.1', '5.2');
    await expect(runTrainJob(resumedJob(checkpoint), { train: changed }, { resume: checkpoint })).rejects.toThrow(
      /train file changed since the checkpoint was written/,
    );
  });
});
