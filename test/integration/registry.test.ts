// The model registry against the real S3 server: version numbering (also under parallel registration), artifacts
// and lineage read back byte for byte, promote/rollback keeping the previous production, and names checked first.
import { createHash, randomUUID } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { ObjectStore } from '../../core/object-store.ts';
import { Registry, type Artifacts } from '../../core/registry/registry.ts';
import type { LineageInput } from '../../core/registry/schema.ts';
import { s3Client, stack } from '../helpers/stack.ts';

const registry = () => new Registry(new ObjectStore(s3Client(), stack().bucket));
const freshModel = () => `spam-${randomUUID().slice(0, 8)}`;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

const artifacts = (tag: string): Artifacts => ({
  model: new Uint8Array(Buffer.from(`onnx bytes of ${tag}`)),
  metrics: { accuracy: 0.9, tag },
  card: { markdown: `# Model card ${tag}\n`, json: { tag } },
});

const lineage = (jobId: string): LineageInput => ({
  job_id: jobId,
  created: '2026-11-28T06:00:00Z',
  datasets: { train: sha('train'), eval: sha('eval') },
  base_model: { name: 'spam-base', version: 1, sha256: sha('base') },
  method: 'lora',
  hyperparameters: { lr: 0.001, epochs: 3 },
  seed: 42,
  code_version: '0.1.0+abc1234',
  worker_build_id: 'build-7',
  submitter: 'alice',
});

const at = (minute: number) => `2026-11-28T07:${String(minute).padStart(2, '0')}:00Z`;

async function getRaw(key: string): Promise<Buffer> {
  const out = await s3Client().send(new GetObjectCommand({ Bucket: stack().bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

describe('Registry versions', () => {
  it('numbers versions 1, 2, … and stores each artifact with its sha256 pinned in lineage.json', async () => {
    const model = freshModel();
    const r = registry();
    expect(await r.registerVersion(model, artifacts('a'), lineage('job-a'))).toBe(1);
    expect(await r.registerVersion(model, artifacts('b'), lineage('job-b'))).toBe(2);
    expect(await r.listVersions(model)).toEqual([1, 2]);

    const v2 = await r.getVersion(model, 2);
    expect(v2.keys['model.onnx']).toBe(`models/${model}/versions/00000002/model.onnx`);
    expect(v2.metrics).toEqual({ accuracy: 0.9, tag: 'b' });
    expect(v2.record).toMatchObject({ model, version: 2, job_id: 'job-b', seed: 42, submitter: 'alice' });
    const onnx = await getRaw(v2.keys['model.onnx']);
    expect(onnx.toString()).toBe('onnx bytes of b');
    expect(v2.record.artifacts['model.onnx']).toBe(createHash('sha256').update(onnx).digest('hex'));
    expect(await r.getCard(model, 2)).toEqual({ markdown: '# Model card b\n', json: { tag: 'b' } });
    // By name prefix (a tenant's, `acme--`): the models under it with their versions, nothing else.
    await r.registerVersion(`${model}x`, artifacts('c'), lineage('job-c'));
    const listed = await r.listModels(model);
    expect([...listed.keys()]).toEqual([model, `${model}x`]);
    expect(listed.get(model)).toEqual([1, 2]);
    expect([...(await r.listModels(`${model}-`)).keys()]).toEqual([]);
    await expect(r.listModels('../')).rejects.toThrow(/invalid model name prefix/);
  });

  it('gives parallel registrations distinct, gap-free numbers', async () => {
    const model = freshModel();
    const registries = [registry(), registry(), registry()];
    const versions = await Promise.all(
      Array.from({ length: 9 }, (_, i) =>
        registries[i % 3].registerVersion(model, artifacts(`p${i}`), lineage(`job-${i}`)),
      ),
    );
    expect([...versions].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const [i, version] of versions.entries()) {
      expect((await registries[0].getVersion(model, version)).record.job_id).toBe(`job-${i}`);
    }
  });

  it('returns the same version when one job registers the same bytes again (a retried activity)', async () => {
    const model = freshModel();
    const r = registry();
    const first = await r.registerVersion(model, artifacts('a'), lineage('job-a'));
    expect(await r.registerVersion(model, artifacts('a'), lineage('job-a'))).toBe(first);
    expect(await r.listVersions(model)).toEqual([first]);
  });

  it('checks names, versions and lineage before any key is made', async () => {
    const r = registry();
    await expect(r.registerVersion('../etc', artifacts('a'), lineage('j'))).rejects.toThrow(
      /invalid model name "..\/etc"/,
    );
    await expect(r.registerVersion('Spam Model', artifacts('a'), lineage('j'))).rejects.toThrow(/invalid model name/);
    await expect(r.getVersion(freshModel(), 0)).rejects.toThrow(/invalid model version 0/);
    await expect(r.getVersion(freshModel(), '01' as unknown as number)).rejects.toThrow(/invalid model version "01"/);
    await expect(
      r.registerVersion(freshModel(), artifacts('a'), { ...lineage('j'), datasets: { eval: sha('e') } }),
    ).rejects.toThrow(/datasets: must hold the sha256 of the "train" file/);
    await expect(r.getVersion(freshModel(), 3)).rejects.toThrow(/has no version 3/);
  });
});

describe('Registry aliases', () => {
  it('promotes, keeps the previous production, and rolls back in one call', async () => {
    const model = freshModel();
    const r = registry();
    for (const tag of ['a', 'b', 'c']) await r.registerVersion(model, artifacts(tag), lineage(`job-${tag}`));
    expect(await r.getAlias(model, 'production')).toBeNull();

    await r.promote(model, 1, { actor: 'bob', at: at(1) });
    await r.promote(model, 2, { actor: 'bob', at: at(2) });
    expect(await r.getAlias(model, 'production')).toEqual({ version: 2, by: 'bob', at: at(2), via: 'promote' });
    expect((await r.getAlias(model, 'previous'))?.version).toBe(1);

    await r.promote(model, 2, { actor: 'bob', at: at(3) }); // already production: nothing changes
    expect((await r.getAliases(model)).previous.map((t) => t.version)).toEqual([1]);

    await r.promote(model, 3, { actor: 'carol', at: at(4) });
    const back = await r.rollback(model, { actor: 'dave', at: at(5) });
    expect(back.production).toEqual({ version: 2, by: 'dave', at: at(5), via: 'rollback' });
    expect(back.previous.map((t) => t.version)).toEqual([1]);

    // The same rollback again (an activity retry) does not step back a second time.
    await r.rollback(model, { actor: 'dave', at: at(5) });
    expect((await r.getAlias(model, 'production'))?.version).toBe(2);

    await r.rollback(model, { actor: 'dave', at: at(6) });
    expect((await r.getAlias(model, 'production'))?.version).toBe(1);
    await expect(r.rollback(model, { actor: 'dave', at: at(7) })).rejects.toThrow(/no previous production/);
  });

  it('refuses to promote a version that does not exist or lacks an artifact', async () => {
    const model = freshModel();
    const r = registry();
    const version = await r.registerVersion(model, artifacts('a'), lineage('job-a'));
    await expect(r.promote(model, 2, { actor: 'bob', at: at(1) })).rejects.toThrow(/version 2 is incomplete/);
    const { keys } = await r.getVersion(model, version);
    await s3Client().send(new DeleteObjectCommand({ Bucket: stack().bucket, Key: keys['card.md'] }));
    await expect(r.promote(model, version, { actor: 'bob', at: at(1) })).rejects.toThrow(/incomplete: no card.md/);
    expect(await r.getAlias(model, 'production')).toBeNull();
  });
});
