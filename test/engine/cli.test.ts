// The `ratchet train` / `ratchet eval` contract, through the real CLI in child processes.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lastJson, ratchet, root, type Run } from './ratchet-cli.ts';
import { irisJsonl } from '../helpers/iris.ts';

const fixture = (name: string) => join(root, 'test/fixtures/torch-like', name);

let dir: string;
let trainFile: string;
let evalFile: string;
const file = async (name: string, text: string) => {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-cli-'));
  const lines = irisJsonl().trim().split('\n');
  trainFile = await file('train.jsonl', lines.filter((_, i) => i % 5 !== 0).join('\n') + '\n');
  evalFile = await file('eval.jsonl', lines.filter((_, i) => i % 5 === 0).join('\n') + '\n');
});

const common = () => ['--train', trainFile, '--eval', evalFile, '--hidden', '16', '--batch-size', '16', '--lr', '0.01'];

describe('ratchet train and eval', () => {
  it('trains, writes model.onnx, metrics.json and checkpoints, and prints the eval metrics last', async () => {
    const out = join(dir, 'scratch');
    const metrics = lastJson(await ratchet('train', ...common(), '--epochs', '40', '--out', out));
    for (const key of ['accuracy', 'macro_f1', 'ece', 'loss']) expect(typeof metrics[key]).toBe('number');
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(metrics.ep).toBe('cpu');
    expect((await readdir(join(out, 'checkpoints'))).length).toBeGreaterThan(0);
    const written = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    expect(written.accuracy).toBe(metrics.accuracy);

    const evaluated = lastJson(await ratchet('eval', '--model', join(out, 'model.onnx'), '--data', evalFile));
    expect(evaluated.accuracy).toBe(metrics.accuracy);
    expect(evaluated.loss).toBeCloseTo(metrics.loss as number, 6);
  });

  it('gives byte-identical models for the same seed, and for 2N steps vs N + checkpoint + new process + N', async () => {
    const args = [...common(), '--max-steps', '24', '--checkpoint-every', '12', '--seed', '5'];
    const [a, b] = [join(dir, 'det-a'), join(dir, 'det-b')];
    await Promise.all([ratchet('train', ...args, '--out', a), ratchet('train', ...args, '--out', b)]);
    const resumed = join(dir, 'det-resumed');
    // 120 rows in batches of 16 is 8 steps an epoch: step 12 is mid-epoch.
    lastJson(await ratchet('train', '--resume', join(a, 'checkpoints/step-00000012'), '--out', resumed));
    const model = (d: string) => readFile(join(d, 'model.onnx'));
    const bytes = await model(a);
    expect((await model(b)).equals(bytes)).toBe(true);
    expect((await model(resumed)).equals(bytes)).toBe(true);
  });

  it('fine-tunes a model laid out as torch.onnx.export writes it, and its held-out loss drops', async () => {
    const before = lastJson(await ratchet('eval', '--model', fixture('mlp.onnx'), '--data', evalFile));
    const after = lastJson(
      await ratchet('train', ...common(), '--base', fixture('mlp.onnx'), '--epochs', '5', '--out', join(dir, 'ft')),
    );
    expect(after.loss as number).toBeLessThan((before.loss as number) * 0.8);
  });

  it('trains a new head when the label set changes, with --method head', async () => {
    const flowers = irisJsonl().replaceAll('"setosa"', '"daisy"');
    const data = await file('daisy.jsonl', flowers);
    const metrics = lastJson(
      await ratchet(
        'train',
        '--train',
        data,
        '--base',
        join(dir, 'scratch/model.onnx'),
        '--method',
        'head',
        '--epochs',
        '2',
        '--out',
        join(dir, 'head'),
      ),
    );
    expect(metrics.labels).toEqual(['daisy', 'versicolor', 'virginica']);
  });
});

describe('interrupting ratchet train', () => {
  it('stops on SIGINT within a step: exit code 130, a checkpoint to resume from, no model', async () => {
    const out = join(dir, 'interrupted');
    const child = spawn('node', [
      join(root, 'bin/ratchet.mjs'),
      'train',
      ...common(),
      '--max-steps',
      '100000',
      '--checkpoint-every',
      '1',
      '--out',
      out,
    ]);
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // Interrupt once training is under way (its first checkpoint exists).
    while ((await readdir(join(out, 'checkpoints')).catch(() => [])).length === 0) await sleep(100);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const resumeFrom = /resume with --resume (\S+)/.exec(stderr)?.[1];
    expect(resumeFrom, stderr).toBeDefined();
    const checkpoint = JSON.parse(await readFile(join(resumeFrom!, 'state.json'), 'utf8'));
    expect(checkpoint.step).toBeGreaterThan(0);
    await expect(readFile(join(out, 'model.onnx'))).rejects.toThrow(/ENOENT/);
  });
});

describe('bad input: one clear error line and a non-zero exit', () => {
  const expectError = (run: Run, pattern: RegExp) => {
    expect(run.code).not.toBe(0);
    const lines = run.stderr.trim().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
  };

  it('names the problem for each kind of bad input', async () => {
    const wrongSchema = await file(
      'wrong.jsonl',
      '{"features": [1, 2, 3, 4], "label": "a"}\n{"text": "hello", "label": "b"}\n',
    );
    const notOnnx = await file('not.onnx', 'this is not a protobuf model\n');
    const daisy = await file('daisy-only.jsonl', irisJsonl().replaceAll('"setosa"', '"daisy"'));
    const out = join(dir, 'never');
    const base = join(dir, 'scratch/model.onnx');
    const [missing, schema, onnx, unsupported, unknownLabel, evalOnnx, badFlag] = await Promise.all([
      ratchet('train', '--train', join(dir, 'absent.jsonl'), '--out', out),
      ratchet('train', '--train', wrongSchema, '--out', out),
      ratchet('train', '--train', trainFile, '--base', notOnnx, '--out', out),
      ratchet('train', '--train', trainFile, '--base', fixture('mlp-sin.onnx'), '--out', out),
      ratchet('train', '--train', daisy, '--base', base, '--method', 'full', '--out', out),
      ratchet('eval', '--model', notOnnx, '--data', evalFile),
      ratchet('train', '--train', trainFile, '--out', out, '--method', 'sideways'),
    ]);
    expectError(missing, /train file not found: .*absent\.jsonl/);
    expectError(schema, /wrong\.jsonl:2: "features" must be a non-empty array/);
    expectError(onnx, /not\.onnx is not a readable ONNX model/);
    expectError(unsupported, /no gradient rule for op 'Sin' \(node '\/1\/Sin'\)/);
    expectError(unknownLabel, /label "daisy" is unknown to the base model's head .*--method head/);
    expectError(evalOnnx, /not\.onnx is not a readable ONNX model/);
    expectError(badFlag, /unknown method 'sideways'/);
  });
});
