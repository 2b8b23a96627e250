// Input that no retry can fix is an InvalidInput (engine/invalid-input.ts), which the activities turn into a
// non-retryable failure; a file the disk cannot give is not, so a retry may still succeed.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, parseTabularJsonl } from '../../engine/data/index.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { InvalidInput } from '../../engine/invalid-input.ts';
import { importClassifier } from '../../engine/models/base.ts';
import { parseMethod } from '../../engine/models/methods.ts';
import { runTrainJob, type TrainJob } from '../../engine/train/job.ts';
import { readInput } from '../../infra/cli/files.ts';

let dir: string;
let fromScratch: TrainJob;
let base: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-invalid-input-'));
  fromScratch = {
    train: 'iris.jsonl',
    hidden: [8],
    method: 'full',
    config: {
      batchSize: 16,
      maxSteps: 4,
      lr: 0.01,
      optimizer: { kind: 'adamw' },
      loss: { kind: 'cross-entropy' },
      seed: 1,
    },
  };
  base = (await runTrainJob(fromScratch, { train: irisJsonl() })).model!;
});

/** Iris with its records changed by `edit`. */
function irisWith(edit: (record: { features: number[]; label: string }) => object) {
  const lines = irisJsonl()
    .trimEnd()
    .split('\n')
    .map((line) => JSON.stringify(edit(JSON.parse(line) as { features: number[]; label: string })));
  return lines.join('\n') + '\n';
}

/** Fine-tuning the model trained from scratch on `train`. */
const fromBase = (train: string, method = 'full') =>
  runTrainJob({ ...fromScratch, train: 'train.jsonl', base: 'base.onnx', method }, { train, base });

describe('InvalidInput', () => {
  it('is what a base model whose head does not know the data’s labels throws', async () => {
    const train = irisWith((r) => ({ ...r, label: `species-${r.label}` }));
    const run = fromBase(train);
    await expect(run).rejects.toThrow(InvalidInput);
    await expect(fromBase(train)).rejects.toThrow(
      /label "species-.*" is unknown to the base model's head .*; use --method head to train a new head/,
    );
  });

  it('is what data of another width than the base model’s input throws', async () => {
    const train = irisWith((r) => ({ ...r, features: r.features.slice(1) }));
    const run = fromBase(train);
    await expect(run).rejects.toThrow(InvalidInput);
    await expect(run).rejects.toThrow('the train data has 3 features per row, the model takes 4');
  });

  it('is what a method, a model file or a dataset that cannot be read throws', () => {
    expect(() => parseMethod('fullest')).toThrow(InvalidInput);
    expect(() => importClassifier(new Uint8Array([1, 2, 3]), 'junk.onnx')).toThrow(InvalidInput);
    expect(() => parseTabularJsonl('{"features": [1], "label": 2}\n{"text": "a"}\n')).toThrow(DatasetError);
    expect(new DatasetError('x', 1, 'bad')).toBeInstanceOf(InvalidInput);
  });

  it('is not what a missing file throws: that is the disk’s problem, and a retry may find it', async () => {
    const missing = readInput(join(dir, 'missing.jsonl'), 'train');
    await expect(missing).rejects.toThrow('train file not found');
    await expect(missing.catch((e: unknown) => e instanceof InvalidInput)).resolves.toBe(false);
  });
});
