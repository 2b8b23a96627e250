// The API over real HTTP against the harness's Temporal and S3: auth, keys, files, datasets, models, audit,
// limits, errors, metrics and docs. Jobs and schedules, which need a worker, are in api-jobs.test.ts.
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ObjectStore } from '../../core/object-store.ts';
import { Registry } from '../../core/registry/registry.ts';
import { scoped } from '../../api/tenancy.ts';
import { s3Client, stack } from '../helpers/stack.ts';
import { call, freshTenant, keyFor, startApi, upload, type Api } from './api-harness.ts';

const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let api: Api;
const acme = freshTenant('acme');
const globex = freshTenant('globex');
const keys = { viewer: '', submitter: '', approver: '', admin: '', other: '' };

beforeAll(async () => {
  api = await startApi();
  keys.viewer = await keyFor(api, acme, 'vic', ['viewer']);
  keys.submitter = await keyFor(api, acme, 'sam', ['submitter']);
  keys.approver = await keyFor(api, acme, 'ada', ['approver']);
  keys.admin = await keyFor(api, acme, 'root', ['admin']);
  keys.other = await keyFor(api, globex, 'gus', ['submitter', 'approver']);
});

describe('authentication', () => {
  it("is 401 in OpenAI's error envelope without a key, with a malformed header and with an unknown key", async () => {
    for (const headers of <Record<string, string>[]>[
      {},
      { authorization: 'Basic abc' },
      { authorization: 'Bearer rk_0123456789abcdef_' + 'x'.repeat(43) },
    ]) {
      const reply = await call(api, 'GET', '/v1/files', { headers });
      expect(reply.status).toBe(401);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(reply.body).toEqual({
        error: { message: expect.any(String), type: 'authentication_error', param: null, code: 'unauthorized' },
      });
    }
  });

  it('is 401 for a key with the right id and a wrong secret', async () => {
    const tampered = keys.viewer.slice(0, -1) + (keys.viewer.endsWith('A') ? 'B' : 'A');
    expect((await call(api, 'GET', '/v1/files', { key: tampered })).status).toBe(401);
  });

  it('is 403 naming the role when the key lacks it', async () => {
    const reply = await call(api, 'POST', '/v1/files/uploads', {
      key: keys.viewer,
      json: { filename: 'a', licence: 'MIT', source: 's' },
    });
    expect(reply.status).toBe(403);
    expect(reply.body.error).toMatchObject({
      type: 'permission_error',
      message: expect.stringMatching(/submitter role/),
    });
  });
});

describe('keys', () => {
  it('an admin creates, lists and revokes keys; the secret is shown once and no hash is listed', async () => {
    const created = await call(api, 'POST', '/v1/keys', { key: keys.admin, json: { user: 'tmp', roles: ['viewer'] } });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^rk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    expect(created.body.info).toMatchObject({
      user: 'tmp',
      tenant: acme,
      roles: ['viewer'],
      createdBy: 'root',
      revokedAt: null,
    });
    expect((await call(api, 'GET', '/v1/files', { key: created.body.key })).status).toBe(200);

    const listed = await call(api, 'GET', '/v1/keys', { key: keys.admin });
    expect(listed.body.data.map((k: { user: string }) => k.user).sort()).toEqual(['ada', 'root', 'sam', 'tmp', 'vic']);
    expect(listed.text).not.toMatch(/sha256/);
    expect(listed.text).not.toContain(created.body.key.slice(20));

    const revoked = await call(api, 'DELETE', `/v1/keys/${created.body.info.id}`, { key: keys.admin });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await call(api, 'GET', '/v1/files', { key: created.body.key })).status).toBe(401);
  });

  it("a non-admin cannot manage keys; an admin cannot revoke another tenant's key (404)", async () => {
    expect((await call(api, 'GET', '/v1/keys', { key: keys.submitter })).status).toBe(403);
    const globexKeys = await call(api, 'GET', '/v1/keys', { key: api.admin });
    expect(globexKeys.status).toBe(200);
    const otherAdmin = await keyFor(api, globex, 'gadmin', ['admin']);
    const theirs = (await call(api, 'GET', '/v1/keys', { key: otherAdmin })).body.data[0].id;
    expect((await call(api, 'DELETE', `/v1/keys/${theirs}`, { key: keys.admin })).status).toBe(404);
  });
});

describe('files', () => {
  it('multipart upload records bytes, sha256, licence, source and uploader; get and list return it', async () => {
    const text = '{"text":"hello","label":"ham"}\n';
    const reply = await upload(api, keys.submitter, text, { licence: 'CC0-1.0', source: 'unit test' });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      object: 'file',
      purpose: 'fine-tune',
      status: 'processed',
      bytes: text.length,
      sha256: sha256(text),
      licence: 'CC0-1.0',
      source: 'unit test',
      created_by: 'sam',
    });
    expect(reply.body.id).toMatch(/^file-/);
    const got = await call(api, 'GET', `/v1/files/${reply.body.id}`, { key: keys.viewer });
    expect(got.body).toEqual(reply.body);
    const listed = await call(api, 'GET', '/v1/files', { key: keys.viewer });
    expect(listed.body.data).toContainEqual(reply.body);
  });

  it('refuses an upload without a purpose, or with a purpose other than fine-tune, naming the field', async () => {
    for (const purpose of [undefined, 'assistants']) {
      const form = new FormData();
      form.set('file', new Blob(['{"a":1}\n']), 'a.jsonl');
      if (purpose) form.set('purpose', purpose);
      const reply = await call(api, 'POST', '/v1/files', { key: keys.submitter, body: form });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatchObject({ type: 'invalid_request_error', param: 'purpose' });
    }
  });

  it('lists in pages with after and has_more, oldest first with order=asc, newest first by default, each file once', async () => {
    const tenant = freshTenant('pages');
    const key = await keyFor(api, tenant, 'pat', ['submitter']);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await upload(api, key, `{"i":${i}}\n`)).body.id);
    for (const order of ['asc', 'desc']) {
      const seen: string[] = [];
      let after: string | null = null;
      let more = true;
      while (more) {
        const reply: Awaited<ReturnType<typeof call>> = await call(
          api,
          'GET',
          `/v1/files?limit=2${order === 'asc' ? '&order=asc' : ''}${after ? `&after=${after}` : ''}`,
          { key },
        );
        expect(reply.body.object).toBe('list');
        expect(reply.body.data.length).toBeLessThanOrEqual(2);
        seen.push(...reply.body.data.map((f: { id: string }) => f.id));
        expect(reply.body.first_id).toBe(reply.body.data[0]?.id ?? null);
        expect(reply.body.last_id).toBe(reply.body.data.at(-1)?.id ?? null);
        after = reply.body.last_id;
        more = reply.body.has_more;
      }
      expect(seen).toEqual(order === 'asc' ? ids : [...ids].reverse());
    }
  });

  it('presigned upload: PUT to the URL, then complete records size and sha256', async () => {
    const started = await call(api, 'POST', '/v1/files/uploads', {
      key: keys.submitter,
      json: { filename: 'big.jsonl', licence: 'MIT', source: 'generated' },
    });
    expect(started.status).toBe(201);
    // OpenAI's `uploaded`: the record exists, its bytes are not yet stored.
    expect(started.body.file.status).toBe('uploaded');
    const early = await call(api, 'POST', `/v1/files/${started.body.file.id}/complete`, { key: keys.submitter });
    expect(early.status).toBe(409);

    const bytes = new TextEncoder().encode('{"features":[1,2],"label":"a"}\n'.repeat(1000));
    const put = await fetch(started.body.upload.url, { method: 'PUT', body: bytes });
    expect(put.status).toBe(200);
    const done = await call(api, 'POST', `/v1/files/${started.body.file.id}/complete`, { key: keys.submitter });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'processed', bytes: bytes.byteLength, sha256: sha256(bytes) });
  });

  it("another tenant's file is 404, not 403", async () => {
    const mine = await upload(api, keys.submitter, '{"a":1}\n');
    const reply = await call(api, 'GET', `/v1/files/${mine.body.id}`, { key: keys.other });
    expect(reply.status).toBe(404);
    expect((await call(api, 'GET', '/v1/files', { key: keys.other })).body.data).toEqual([]);
  });
});

describe('request errors', () => {
  it('400 names every invalid body field, the first as param', async () => {
    const reply = await call(api, 'POST', '/v1/files/uploads', {
      key: keys.submitter,
      json: { filename: '', source: 3, extra: true },
    });
    expect(reply.status).toBe(400);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reply.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
    const paths = reply.body.error.errors.map((e: { path: string }) => e.path).sort();
    expect(paths).toEqual(['body', 'body.filename', 'body.source']);
    expect(reply.body.error.param).toBe(reply.body.error.errors[0].path.replace(/^body\./, ''));
  });

  it('400 names the query or path parameter', async () => {
    const query = await call(api, 'GET', '/v1/files?limit=0', { key: keys.viewer });
    expect(query.status).toBe(400);
    expect(query.body.error.errors).toEqual([{ path: 'query.limit', message: expect.any(String) }]);
    expect(query.body.error.param).toBe('limit');
    const path = await call(api, 'GET', '/v1/files/..%2F..%2Fetc', { key: keys.viewer });
    expect(path.status).toBe(400);
    expect(path.body.error.errors[0].path).toBe('path.fileId');
  });

  it('400 for malformed JSON, 415 for another media type, 413 past the body limit', async () => {
    const headers = { 'content-type': 'application/json' };
    const malformed = await call(api, 'POST', '/v1/files/uploads', {
      key: keys.submitter,
      body: '{"filename":',
      headers,
    });
    expect(malformed.status).toBe(400);
    const wrongType = await call(api, 'POST', '/v1/files/uploads', {
      key: keys.submitter,
      body: 'filename=a',
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
    const huge = await call(api, 'POST', '/v1/files/uploads', {
      key: keys.submitter,
      body: JSON.stringify({ filename: 'x'.repeat(2 * 1024 * 1024) }),
      headers,
    });
    expect(huge.status).toBe(413);
    expect(huge.headers.get('content-type')).toMatch(/^application\/json/);
    expect(huge.body.error.type).toBe('invalid_request_error');
  });

  it('404 error for an unknown route', async () => {
    const reply = await call(api, 'GET', '/v1/nothing-here', { key: keys.viewer });
    expect(reply.status).toBe(404);
    expect(reply.body.error).toMatchObject({ type: 'not_found_error', code: 'not_found' });
  });
});

describe('rate limit', () => {
  it('429 with Retry-After once a key has used its burst; other keys are unaffected', async () => {
    const limited = await startApi({ rateLimit: { perSecond: 0.5, burst: 3 } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await call(limited, 'GET', '/v1/files', { key: keys.viewer })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const reply = await call(limited, 'GET', '/v1/files', { key: keys.viewer });
    expect(reply.status).toBe(429);
    expect(Number(reply.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await call(limited, 'GET', '/v1/files', { key: keys.submitter })).status).toBe(200);
  });
});

describe('models', () => {
  const registry = () => new Registry(new ObjectStore(s3Client(), stack().bucket));
  const onnx = new TextEncoder().encode('not really onnx, but bytes with a sha256');

  beforeAll(async () => {
    for (const job of ['job-a', 'job-b']) {
      await registry().registerVersion(
        scoped(acme, 'spam'),
        {
          model: onnx,
          metrics: { accuracy: job === 'job-a' ? 0.9 : 0.93 },
          card: { markdown: `# spam ${job}\n`, json: { job } },
        },
        {
          job_id: job,
          created: '2026-11-28T06:00:00Z',
          datasets: { train: sha256('t') },
          hyperparameters: {},
          seed: 1,
          code_version: 'test',
          submitter: 'sam',
        },
      );
    }
  });

  it('lists models, versions, one version, its card and a working presigned download', async () => {
    const models = (await call(api, 'GET', '/v1/models', { key: keys.viewer })).body;
    expect(models.object).toBe('list');
    expect(models.data.map((m: { id: string }) => m.id)).toEqual(['mlp', 'encoder', 'fasttext', 'spam:1', 'spam:2']);
    expect(models.data.at(-1)).toMatchObject({ object: 'model', owned_by: acme });
    expect((await call(api, 'GET', '/v1/models/spam:1', { key: keys.viewer })).body.id).toBe('spam:1');
    expect((await call(api, 'GET', '/v1/models/spam:3', { key: keys.viewer })).status).toBe(404);
    const versions = await call(api, 'GET', '/v1/models/spam/versions', { key: keys.viewer });
    expect(versions.body.data.map((v: { version: number; model: string }) => [v.model, v.version])).toEqual([
      ['spam', 1],
      ['spam', 2],
    ]);
    const two = await call(api, 'GET', '/v1/models/spam/versions/2', { key: keys.viewer });
    expect(two.body.metrics).toEqual({ accuracy: 0.93 });
    expect((await call(api, 'GET', '/v1/models/spam/versions/1/card', { key: keys.viewer })).body).toEqual({
      job: 'job-a',
    });
    const markdown = await call(api, 'GET', '/v1/models/spam/versions/1/card?format=markdown', { key: keys.viewer });
    expect(markdown.headers.get('content-type')).toMatch(/^text\/markdown/);
    expect(markdown.text).toBe('# spam job-a\n');
    const link = await call(api, 'GET', '/v1/models/spam/versions/2/download', { key: keys.viewer });
    const downloaded = new Uint8Array(await (await fetch(link.body.url)).arrayBuffer());
    expect(sha256(downloaded)).toBe(link.body.sha256);
    expect(sha256(downloaded)).toBe(sha256(onnx));
  });

  it('an approver promotes and rolls back; each change is in the ledger; a submitter may not', async () => {
    expect(
      (await call(api, 'POST', '/v1/models/spam/promote', { key: keys.submitter, json: { version: 1, reason: 'r' } }))
        .status,
    ).toBe(403);
    const first = await call(api, 'POST', '/v1/models/spam/promote', {
      key: keys.approver,
      json: { version: 1, reason: 'baseline' },
    });
    expect(first.body.production).toMatchObject({ version: 1, by: 'ada', via: 'promote' });
    const second = await call(api, 'POST', '/v1/models/spam/promote', {
      key: keys.approver,
      json: { version: 2, reason: 'better' },
    });
    expect(second.body).toMatchObject({ model: 'spam', production: { version: 2 }, previous: [{ version: 1 }] });
    const back = await call(api, 'POST', '/v1/models/spam/rollback', {
      key: keys.approver,
      json: { reason: 'regression seen' },
    });
    expect(back.body).toMatchObject({ production: { version: 1, via: 'rollback' }, previous: [] });
    expect((await call(api, 'GET', '/v1/models/spam/aliases', { key: keys.viewer })).body.production.version).toBe(1);
    const nothingLeft = await call(api, 'POST', '/v1/models/spam/rollback', {
      key: keys.approver,
      json: { reason: 'again' },
    });
    expect(nothingLeft.status).toBe(409);
    expect(nothingLeft.body.error.message).toBe("model 'spam' has no previous production to roll back to");
    const missing = await call(api, 'POST', '/v1/models/spam/promote', {
      key: keys.approver,
      json: { version: 9, reason: 'r' },
    });
    expect(missing.status).toBe(404);
    const actions = (await call(api, 'GET', '/v1/audit/entries?limit=100', { key: keys.viewer })).body.data
      .filter((e: { action: string }) => e.action.startsWith('model.'))
      .map((e: { action: string; details: { reason: string } }) => [e.action, e.details.reason]);
    expect(actions).toEqual([
      ['model.promoted', 'baseline'],
      ['model.promoted', 'better'],
      ['model.rolled_back', 'regression seen'],
    ]);
  });

  it('another tenant sees none of it (404)', async () => {
    const architectures = ['mlp', 'encoder', 'fasttext'];
    const theirs = (await call(api, 'GET', '/v1/models', { key: keys.other })).body.data;
    expect(theirs.map((m: { id: string }) => m.id)).toEqual(architectures);
    for (const path of [
      '/v1/models/spam',
      '/v1/models/spam:1',
      '/v1/models/spam/versions',
      '/v1/models/spam/versions/1',
      '/v1/models/spam/versions/1/card',
      '/v1/models/spam/versions/1/download',
      '/v1/models/spam/aliases',
    ]) {
      expect((await call(api, 'GET', path, { key: keys.other })).status, path).toBe(404);
    }
    expect(
      (await call(api, 'POST', '/v1/models/spam/rollback', { key: keys.other, json: { reason: 'x' } })).status,
    ).toBe(404);
  });
});

describe('datasets', () => {
  it('publishes a version from two uploaded files; a pending or unknown file is a 400 naming the field', async () => {
    const train = await upload(api, keys.submitter, '{"features":[1],"label":"a"}\n');
    const pending = await call(api, 'POST', '/v1/files/uploads', {
      key: keys.submitter,
      json: { filename: 'e', licence: 'MIT', source: 's' },
    });
    const refused = await call(api, 'POST', '/v1/datasets/iris/versions', {
      key: keys.submitter,
      json: { version: '001', training_file: train.body.id, validation_file: pending.body.file.id },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.param).toBe('validation_file');
    expect(refused.body.error.errors).toEqual([
      { path: 'body.validation_file', message: expect.stringMatching(/pending/) },
    ]);
    const published = await call(api, 'POST', '/v1/datasets/iris/versions', {
      key: keys.submitter,
      json: { version: '001', training_file: train.body.id, validation_file: train.body.id },
    });
    expect(published.status).toBe(201);
    const foreign = await call(api, 'POST', '/v1/datasets/iris/versions', {
      key: keys.other,
      json: { version: '001', training_file: train.body.id, validation_file: train.body.id },
    });
    expect(foreign.status).toBe(400);
  });
});

describe('audit', () => {
  it('lists by subject, verifies the chain and exports it as JSON Lines', async () => {
    const file = await upload(api, keys.submitter, '{"b":2}\n');
    const entries = await call(api, 'GET', `/v1/audit/entries?subject=${file.body.id}`, { key: keys.viewer });
    expect(entries.body.data).toEqual([
      expect.objectContaining({
        action: 'file.uploaded',
        actor: 'sam',
        subject: file.body.id,
        outputs: { content: file.body.sha256 },
      }),
    ]);
    const verified = await call(api, 'GET', '/v1/audit/verify', { key: keys.viewer });
    expect(verified.body).toMatchObject({ ok: true, scope: acme, problems: [] });
    const exported = await call(api, 'GET', '/v1/audit/export', { key: keys.viewer });
    expect(exported.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = exported.text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.length).toBe(verified.body.entries);
    expect(lines.map((e) => e.seq)).toEqual(lines.map((_, i) => i + 1));
    const theirs = await call(api, 'GET', `/v1/audit/entries?subject=${file.body.id}`, { key: keys.other });
    expect(theirs.body.data).toEqual([]);
  });
});

describe('operations', () => {
  it('/metrics counts requests by route pattern and status', async () => {
    await call(api, 'GET', '/v1/files/file-000000000000000000000', { key: keys.viewer });
    const text = (await call(api, 'GET', '/metrics')).text;
    expect(text).toMatch(
      /^ratchet_http_requests_total\{method="GET",route="\/v1\/files\/:fileId",status="404"\} [1-9]\d*$/m,
    );
    expect(text).toMatch(
      /^ratchet_http_request_duration_seconds_bucket\{method="GET",route="\/v1\/files",status="200",le="\+Inf"\} [1-9]\d*$/m,
    );
    expect(text).not.toMatch(/file-000000000000000000000/);
  });

  it('/docs is a page served from here that loads /openapi.json and nothing from elsewhere', async () => {
    const page = await call(api, 'GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.text).toContain("fetch('/openapi.json')");
    expect(page.text).not.toMatch(/(src|href)="https?:/);
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect((await call(api, 'GET', '/openapi.json')).body.openapi).toBe('3.1.0');
  });
});
