// A pretrained BERT through the whole pipeline, sized for CI: the tiny BERT (test/helpers/tiny-bert.ts) is packed
// as an HF-directory tarball and imported through POST /v1/models/{name}/import, then a job whose `model` names it
// fine-tunes it with LoRA on a few dozen short texts, distils it into a fastText student, evaluates, waits for
// sign-off by a second identity and deploys; the deployed version's lineage and card carry the base's licence and
// source sha256s. Bad uploads (truncated, unsupported config, sha256 mismatch, no licence) are one 400 each, naming
// the problem, and leave nothing in the registry; the import needs the approver role.
import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { scoped } from '../../api/tenancy.ts';
import { sha256Hex } from '../../core/ledger/canonical.ts';
import { writeTar } from '../../engine/io/tar.ts';
import { TINY_CONFIG, tinyBertDir, tokenizerJson } from '../helpers/tiny-bert.ts';
import { call, upload } from './api-harness.ts';
import { untilStatus, useIrisStack } from './iris-job.ts';
import { registry } from './job-harness.ts';

const stack = useIrisStack('import-bert');

/** The HF directory `dir` as a tarball. */
function tarOf(dir: string): Uint8Array {
  const files: [string, Uint8Array][] = [];
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push([relative(dir, path), readFileSync(path)]);
    }
  };
  walk(dir);
  return writeTar(files);
}

const importModel = (name: string, bytes: Uint8Array, fields: Record<string, string>, key = stack.keys.approver) => {
  const form = new FormData();
  form.set('file', new Blob([Buffer.from(bytes)]), 'tiny-bert.tar');
  for (const [field, value] of Object.entries(fields)) form.set(field, value);
  return call(stack.api, 'POST', `/v1/models/${name}/import`, { key, body: form });
};

/**
 * Distinct short texts over the tiny vocabulary, greetings vs play: every sequence of 2 to 4 of the class's words
 * and punctuation, in a fixed order; train takes three in four, eval the rest, so no text is in both.
 */
function texts(evalRows: boolean): string {
  const classes = { greeting: ['hello', 'world', 'cafe', '!'], play: ['play', 'playing', 'plays', ','] };
  const lines: string[] = [];
  for (const [label, words] of Object.entries(classes)) {
    const sequences: string[][] = [];
    const grow = (prefix: string[]) => {
      if (prefix.length >= 2) sequences.push(prefix);
      if (prefix.length < 3) for (const w of words) if (!prefix.includes(w)) grow([...prefix, w]);
    };
    grow([]);
    sequences.forEach((words, i) => {
      if ((i % 4 === 3) === evalRows) lines.push(JSON.stringify({ text: words.join(' '), label }));
    });
  }
  return lines.join('\n') + '\n';
}

describe('an imported pretrained BERT in the pipeline', () => {
  it('refuses bad uploads with one 400 each and registers nothing; needs the approver role', async () => {
    const good = tarOf(tinyBertDir());
    const name = 'bad-bert';
    const cases: [Uint8Array, Record<string, string>, RegExp][] = [
      [good.subarray(0, good.length - 2048), { licence: 'MIT' }, /tiny-bert\.tar: .*(truncated|ends inside)/],
      [
        tarOf(tinyBertDir({ 'config.json': { ...TINY_CONFIG, position_embedding_type: 'relative_key' } })),
        { licence: 'MIT' },
        /position_embedding_type/,
      ],
      [good, { licence: 'MIT', sha256: '0'.repeat(64) }, /sha256 [0-9a-f]{64} is not the expected 0{64}/],
      [good, {}, /licence is not known here; give licence/],
      [
        tarOf(tinyBertDir({ 'tokenizer.json': { ...tokenizerJson(), model: { type: 'BPE', vocab: {}, merges: [] } } })),
        { licence: 'MIT' },
        /tokenizer\.json/,
      ],
    ];
    for (const [bytes, fields, message] of cases) {
      const reply = await importModel(name, bytes, fields);
      expect(reply.status, reply.text).toBe(400);
      expect(reply.body.error.errors).toHaveLength(1);
      expect(reply.body.error.errors[0].path).toBe('body.file');
      expect(reply.body.error.message).toMatch(message);
    }
    expect(await registry().listVersions(scoped(stack.tenant, name))).toEqual([]);
    const submitter = await importModel(name, good, { licence: 'MIT' }, stack.keys.submitter);
    expect(submitter.status).toBe(403);
    const neither = await call(stack.api, 'POST', `/v1/models/${name}/import`, {
      key: stack.keys.approver,
      body: new FormData(),
    });
    expect(neither.status).toBe(400);
    expect(neither.body.error.message).toMatch(/give the model as file .* or file_id/);
  });

  it('imports a file uploaded before (file_id, for models over the multipart limit), taking its licence', async () => {
    const archive = gzipSync(tarOf(tinyBertDir()));
    const form = new FormData();
    form.set('file', new Blob([Buffer.from(archive)]), 'tiny-bert.tgz');
    form.set('purpose', 'fine-tune');
    form.set('licence', 'BSD-3-Clause');
    const file = await call(stack.api, 'POST', '/v1/files', { key: stack.keys.submitter, body: form });
    expect(file.status, file.text).toBe(200);
    const byId = new FormData();
    byId.set('file_id', file.body.id);
    const reply = await call(stack.api, 'POST', '/v1/models/by-id-bert/import', {
      key: stack.keys.approver,
      body: byId,
    });
    expect(reply.status, reply.text).toBe(201);
    expect(reply.body).toMatchObject({ version: 1, licence: 'BSD-3-Clause' });
    expect(reply.body.source_sha256.archive).toBe(sha256Hex(archive));
    const { record } = await registry().getVersion(scoped(stack.tenant, 'by-id-bert'), 1);
    expect(record.imported!.source).toBe('tiny-bert.tgz');
    const missing = new FormData();
    missing.set('file_id', 'file-nope');
    const none = await call(stack.api, 'POST', '/v1/models/none-bert/import', {
      key: stack.keys.approver,
      body: missing,
    });
    expect(none.status).toBe(400);
    expect(none.body.error.errors).toEqual([{ path: 'body.file_id', message: 'no file file-nope' }]);
  });

  it('imports the tiny BERT, fine-tunes it with LoRA, distils, signs off as a second identity and deploys', async () => {
    const archive = tarOf(tinyBertDir());
    const imported = await importModel('tiny-bert', archive, {
      licence: 'Apache-2.0',
      max_length: '16',
      sha256: sha256Hex(archive),
    });
    expect(imported.status, imported.text).toBe(201);
    expect(imported.body).toMatchObject({ model: 'tiny-bert', version: 1, licence: 'Apache-2.0' });
    const source = imported.body.source_sha256 as Record<string, string>;
    expect(source.archive).toBe(sha256Hex(archive));
    expect(source.safetensors).toMatch(/^[0-9a-f]{64}$/);
    const again = await importModel('tiny-bert', archive, { licence: 'Apache-2.0' });
    expect(again.status).toBe(409);

    const name = scoped(stack.tenant, 'tiny-bert');
    const v1 = await registry().getVersion(name, 1);
    expect(v1.record.imported).toMatchObject({ source: 'tiny-bert.tar', sha256: source, licence: 'Apache-2.0' });
    expect(v1.record.job_id).toBeUndefined();
    const card1 = await registry().getCard(name, 1);
    expect(card1.markdown).toContain('Licence: **Apache-2.0**');
    expect(card1.markdown).toContain(source.safetensors);
    const shown = await call(stack.api, 'GET', '/v1/models/tiny-bert/versions/1', { key: stack.keys.viewer });
    expect(shown.body.version.imported.licence).toBe('Apache-2.0');

    const fileOf = async (text: string) => (await uploadText(text)).body.id as string;
    const created = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', {
      key: stack.keys.submitter,
      json: {
        model: 'tiny-bert',
        training_file: await fileOf(texts(false)),
        validation_file: await fileOf(texts(true)),
        training: {
          method: 'lora:2',
          config: { batchSize: 8, maxSteps: 12, lr: 0.01, seed: 3, threads: 1, checkpointEvery: 6 },
        },
        distillation: {
          student: { fasttext: { buckets: 256, dim: 8, wordNgrams: 1, charNgrams: [0, 0], maxLength: 16 } },
          config: { epochs: 4, lr: 0.05 },
        },
        policy: { minAccuracy: 0, allowedLicences: ['CC-BY-4.0'], approvalTimeout: '10m' },
        intended_use: 'greetings vs play in tiny texts (test fixture)',
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    await untilStatus(stack, id, ['training', 'distilling', 'evaluating', 'awaiting_approval'], 60_000).catch(
      async (error: unknown) => {
        const job = await call(stack.api, 'GET', `/v1/fine_tuning/jobs/${id}`, { key: stack.keys.viewer });
        throw new Error(`${String(error)}: ${JSON.stringify(job.body.ratchet.validation ?? job.body.ratchet)}`);
      },
    );
    const waiting = (await untilStatus(stack, id, ['awaiting_approval'], 120_000)).body.ratchet;
    expect(waiting.transitions.map((t: { state: string }) => t.state)).toEqual(
      expect.arrayContaining(['training', 'distilling', 'evaluating']),
    );
    // The submitter cannot sign off its own job; a second identity does.
    const self = await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: stack.keys.samApproving,
      json: { reason: 'mine' },
    });
    expect(self.status).toBe(403);
    const approved = await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: stack.keys.approver,
      json: { reason: 'tiny BERT, LoRA' },
    });
    expect(approved.status, approved.text).toBeLessThan(300);
    await untilStatus(stack, id, ['deployed']);

    // The deployed candidate is the fastText student: its lineage names the teacher's base, the imported BERT,
    // with the licence and source sha256s the import recorded.
    const v2 = await registry().getVersion(name, 2);
    const base = {
      name,
      version: 1,
      sha256: v1.record.artifacts['model.onnx'],
      licence: 'Apache-2.0',
      source_sha256: source,
    };
    expect(v2.record.method).toBe('distill');
    expect(v2.record.hyperparameters!.teacher).toMatchObject({ arch: 'base', method: 'lora:2', base_model: base });
    expect(v2.record.approver).toBe('ada');
    const card2 = await registry().getCard(name, 2);
    const cardTraining = (card2.json as { training: { hyperparameters: { teacher: { base_model: unknown } } } })
      .training;
    expect(cardTraining.hyperparameters.teacher.base_model).toEqual(base);
    expect(card2.markdown).toContain('Apache-2.0');
    expect(card2.markdown).toContain(source.safetensors);
    expect((await registry().getAlias(name, 'production'))!.version).toBe(2);
  }, 180_000);
});

const uploadText = (text: string) => upload(stack.api, stack.keys.submitter, text);

describe('ratchet models import', () => {
  const ratchet = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const env = { ...process.env, RATCHET_API_URL: stack.api.url, RATCHET_API_KEY: stack.keys.approver };
      const cwd = fileURLToPath(new URL('../..', import.meta.url));
      execFile(process.execPath, ['bin/ratchet.mjs', ...args], { cwd, env }, (error, stdout, stderr) =>
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
      );
    });

  it('sends an HF directory as a tarball; a missing licence is one line and a non-zero exit', async () => {
    const dir = tinyBertDir();
    const refused = await ratchet('models', 'import', '--name', 'cli-bert', '--from', dir);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/licence is not known here; give licence/);
    const done = await ratchet('models', 'import', '--name', 'cli-bert', '--from', dir, '--licence', 'MIT');
    expect(done, done.stderr).toMatchObject({ code: 0 });
    expect(done.stdout).toMatch(/^cli-bert v1 \(MIT\), model\.onnx sha256 [0-9a-f]{64}/);
    const versions = await ratchet('models', 'versions', 'cli-bert');
    expect(versions.stdout).toMatch(/v1 .* imported/);
  });
});
