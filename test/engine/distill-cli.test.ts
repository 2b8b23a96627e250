// `ratchet distill` through the real CLI in child processes: a teacher trained by `ratchet train`, a smaller student
// taught by it, and the errors for a teacher that does not fit the data.
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lastJson, ratchet } from './ratchet-cli.ts';
import { irisJsonl } from '../helpers/iris.ts';

let dir: string;
let trainFile: string;
let evalFile: string;
let teacher: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-distill-'));
  const lines = irisJsonl().trim().split('\n');
  trainFile = join(dir, 'train.jsonl');
  evalFile = join(dir, 'eval.jsonl');
  await writeFile(trainFile, lines.filter((_, i) => i % 5 !== 0).join('\n') + '\n');
  await writeFile(evalFile, lines.filter((_, i) => i % 5 === 0).join('\n') + '\n');
  const args = ['--train', trainFile, '--eval', evalFile, '--hidden', '32,32', '--epochs', '40', '--lr', '0.01'];
  lastJson(await ratchet('train', ...args, '--batch-size', '16', '--out', join(dir, 'teacher')));
  teacher = join(dir, 'teacher', 'model.onnx');
}, 60_000);

describe('ratchet distill', () => {
  it("teaches a student with 3 % of the teacher's parameters to classify, and reports both", async () => {
    const out = join(dir, 'student');
    const run = await ratchet(
      'distill',
      ...['--teacher', teacher, '--train', trainFile, '--eval', evalFile, '--student-arch', 'mlp'],
      ...['--hidden', '4', '--epochs', '60', '--batch-size', '16', '--lr', '0.02', '--temperature', '2'],
      ...['--alpha', '0.7', '--out', out],
    );
    const metrics = lastJson(run) as { accuracy: number; parameters: number; teacher: Record<string, number> };
    expect(metrics.teacher.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(metrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(metrics.parameters).toBe(4 * 4 + 4 + 4 * 3 + 3);
    expect(metrics.teacher.parameters).toBe(4 * 32 + 32 + 32 * 32 + 32 + 32 * 3 + 3);
    const written = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    expect(written.accuracy).toBe(metrics.accuracy);
    // The student is an ordinary model: `ratchet eval` scores it the same.
    const scored = lastJson(await ratchet('eval', '--model', join(out, 'model.onnx'), '--data', evalFile));
    expect(scored.accuracy).toBe(metrics.accuracy);
  });

  it('writes OUT/checkpoints/, and --resume from one with the same flags gives the same student', async () => {
    const args = ['--teacher', teacher, '--train', trainFile, '--eval', evalFile, '--student-arch', 'mlp'];
    const settings = ['--hidden', '4', '--max-steps', '20', '--batch-size', '16', '--checkpoint-every', '8'];
    const whole = join(dir, 'student-whole');
    lastJson(await ratchet('distill', ...args, ...settings, '--out', whole));
    expect(await readdir(join(whole, 'checkpoints'))).toEqual(['step-00000008', 'step-00000016']);
    const resumed = join(dir, 'student-resumed');
    const checkpoint = join(whole, 'checkpoints', 'step-00000008');
    lastJson(await ratchet('distill', ...args, ...settings, '--resume', checkpoint, '--out', resumed));
    const model = (out: string) => readFile(join(out, 'model.onnx'));
    expect((await model(resumed)).equals(await model(whole))).toBe(true);
    expect(await readdir(join(resumed, 'checkpoints'))).toEqual(['step-00000016']);
  });

  it('refuses data with a label the teacher does not score, naming it', async () => {
    const stray = join(dir, 'stray.jsonl');
    await writeFile(stray, JSON.stringify({ features: [5.1, 3.5, 1.4, 0.2], label: 'orchid' }) + '\n');
    const run = await ratchet(
      'distill',
      ...['--teacher', teacher, '--train', stray, '--eval', evalFile, '--student-arch', 'mlp', '--out', join(dir, 'x')],
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/the data's label "orchid" is not one of the teacher's .*one label set/);
  });

  it('names a bad flag value and a missing flag', async () => {
    const base = ['--teacher', teacher, '--train', trainFile, '--eval', evalFile, '--out', join(dir, 'y')];
    const badAlpha = await ratchet('distill', ...base, '--student-arch', 'mlp', '--alpha', '2');
    expect(badAlpha.code).toBe(1);
    expect(badAlpha.stderr).toMatch(/--alpha: distillation alpha must be in \[0, 1\], got 2/);
    const missing = await ratchet('distill', ...base);
    expect(missing.stderr).toMatch(/--student-arch is required/);
    const absent = await ratchet('distill', ...base, '--student-arch', 'mlp', '--teacher', join(dir, 'none.onnx'));
    expect(absent.stderr).toMatch(/teacher model file not found/);
  });
});
