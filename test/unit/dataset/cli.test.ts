import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { run } from '../../../infra/cli/validate.ts';
import type { ValidationReport } from '../../../governance/dataset/validate.ts';
import { jsonl } from './files.ts';

describe('ratchet validate', () => {
  let dir: string;
  const path = (name: string) => join(dir, name);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ratchet-validate-cli-'));
    const words = ['north', 'south', 'east', 'west', 'up', 'down'];
    const clean = words.flatMap((a, i) => words.map((b) => ({ text: `going ${a} then ${b} again`, label: i % 2 })));
    await writeFile(path('clean.jsonl'), jsonl(clean));
    await writeFile(path('broken.jsonl'), jsonl(clean) + '{"text": \n');
    await writeFile(path('manifest.json'), JSON.stringify({ licence: 'MIT' }));
    await writeFile(path('policy.json'), JSON.stringify({ allowedLicences: ['MIT'], minClassShare: 0.4 }));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes the report and exits 0 when the dataset passes', async () => {
    const args = ['--train', path('clean.jsonl'), '--manifest', path('manifest.json'), '--policy', path('policy.json')];
    expect(await run([...args, '--out', path('report.json')])).toBe(0);
    const report = JSON.parse(await readFile(path('report.json'), 'utf8')) as ValidationReport;
    expect(report).toMatchObject({ passed: true, findings: [], files: { train: { records: 36 } } });
    expect(report.policy.minClassShare).toBe(0.4);
  });

  it('exits 1 on blocking findings and names them on stderr', async () => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await run(['--train', path('broken.jsonl'), '--out', path('broken-report.json')])).toBe(1);
      expect(stderr.mock.calls.flat().join('\n')).toMatch(/blocking +train: parse_error x1 \(lines 37\)/);
    } finally {
      stderr.mockRestore();
    }
  });

  it('prints its usage for --help', async () => {
    const stdout = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await run(['--help'])).toBe(0);
      expect(stdout.mock.calls.flat().join('\n')).toMatch(/usage: ratchet validate --train FILE/);
    } finally {
      stdout.mockRestore();
    }
  });

  it.each([
    [['--eval', 'x'], /usage: ratchet validate --train FILE/],
    [['--train', '/nonexistent/train.jsonl'], /--train: no file at/],
    [['--train', 'TRAIN', '--policy', 'TRAIN'], /--policy: .* is not valid JSON/],
    [['--train', 'TRAIN', '--colour', 'red'], /Unknown option '--colour'/],
  ])('exits 1 with a clear message for %j', async (args, message) => {
    const stderr = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await run(args.map((a) => (a === 'TRAIN' ? path('clean.jsonl') : a)))).toBe(1);
      expect(stderr.mock.calls.flat().join('\n')).toMatch(message);
    } finally {
      stderr.mockRestore();
    }
  });
});
