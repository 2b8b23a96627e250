import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateFiles } from './files.ts';
import { variedDataset, withBadBytes } from './varied-dataset.ts';

// The reports the validator gave on these generated files before it read plain ASCII records from their bytes
// and hashed with MurmurHash3 instead of SHA-256 (recorded with that version): every count, example line, label
// and dropped line must be the same.
const recorded = JSON.parse(
  readFileSync(new URL('../../fixtures/validation/varied-reports.json', import.meta.url), 'utf8'),
) as Record<'default' | 'drop' | 'clean', unknown>;

describe('validation gives the reports it gave before', () => {
  const data = variedDataset();
  const files = { train: withBadBytes(data.train), eval: data.eval, ood: data.ood };
  const manifest = { licence: 'MIT' };

  it('on malformed, escaped, non-ASCII and duplicated records, with the default policy', async () => {
    expect(await validateFiles(files, { manifest })).toEqual(recorded.default);
  });

  it('with near duplicates of any length and mislabelled rows dropped', async () => {
    const policy = { mislabels: { action: 'drop' as const }, nearDuplicates: { minChars: 0 }, maxExamples: 20 };
    expect(await validateFiles(files, { manifest, policy })).toEqual(recorded.drop);
  });

  it('when the duplicate tables move their hashes to disk every 64 hashes (train) or 8 (eval, OOD)', async () => {
    expect(await validateFiles(files, { manifest, storeLimit: 64 })).toEqual(recorded.default);
    const policy = { mislabels: { action: 'drop' as const }, nearDuplicates: { minChars: 0 }, maxExamples: 20 };
    expect(await validateFiles(files, { manifest, policy, storeLimit: 64 })).toEqual(recorded.drop);
  });

  it('when the duplicate tables run on their own thread, as for a large dataset', async () => {
    const large = { manifest, expectedBytes: 2 ** 40 }; // a terabyte of such lines would get the thread
    expect(await validateFiles(files, large)).toEqual(recorded.default);
    const policy = { mislabels: { action: 'drop' as const }, nearDuplicates: { minChars: 0 }, maxExamples: 20 };
    expect(await validateFiles(files, { ...large, policy })).toEqual(recorded.drop);
    expect(await validateFiles(files, { ...large, policy, storeLimit: 64 })).toEqual(recorded.drop);
  });

  it('on a clean file, where the mislabel check samples and trains', async () => {
    const train = variedDataset({ seed: 7, malformed: false }).train;
    const report = await validateFiles({ train }, { manifest, policy: { mislabels: { action: 'drop' } } });
    expect(report).toEqual(recorded.clean);
  });
});
