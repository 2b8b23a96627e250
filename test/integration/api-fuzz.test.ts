// Property-based fuzzing over real HTTP: malformed paths, parameters, headers and bodies sent to every route of
// the API must get an answer below 500, promptly. Bounded runs keep the file within seconds.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { allEndpoints } from '../../api/app.ts';
import { call, freshTenant, keyFor, startApi, type Api } from './api-harness.ts';

let api: Api;
let submitter: string;
const tenant = freshTenant('fuzz');

beforeAll(async () => {
  // A rate limit no run reaches, so that every request gets to routing and validation.
  api = await startApi({ rateLimit: { perSecond: 100_000, burst: 100_000 } });
  submitter = await keyFor(api, tenant, 'fuzzer', ['submitter', 'approver', 'viewer']);
});

const ANSWER_WITHIN_MS = 10_000;

// Strings that tend to break parsers and key builders, mixed with arbitrary ones.
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '..',
    '../../etc/passwd',
    '%00',
    '%',
    'file-',
    'a/b',
    ' ',
    '\u0000',
    "'; DROP",
    '{}',
    '-1',
    '1e309',
    'NaN',
  ),
  fc.constant(null).map(() => `${tenant}--job-${'0'.repeat(24)}`),
);

const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 })),
);

const body = fc.oneof(
  jsonValue.map((value) => ({ type: 'application/json', text: JSON.stringify(value) })),
  fc.string({ maxLength: 200 }).map((text) => ({ type: 'application/json', text })),
  fc.string({ maxLength: 200 }).map((text) => ({ type: 'multipart/form-data; boundary=x', text })),
  fc.string({ maxLength: 200 }).map((text) => ({ type: 'text/plain', text })),
  fc.constant({ type: undefined, text: undefined }),
);

const authorization = fc.oneof(
  fc.constant('valid'),
  fc.constant(undefined),
  fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
  fc.string({ maxLength: 60 }),
);

const request = fc.record({
  endpoint: fc.constantFrom(...allEndpoints),
  params: fc.array(nasty, { minLength: 4, maxLength: 4 }),
  query: fc.dictionary(
    fc.constantFrom(
      'limit',
      'after',
      'order',
      'purpose',
      'metadata[k]',
      'status',
      'model',
      'submitter',
      'format',
      'subject',
      'x',
    ),
    nasty,
    { maxKeys: 3 },
  ),
  body,
  authorization,
  idempotencyKey: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
  lastEventId: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
});

/** Header values fetch accepts: visible ASCII and spaces, the rest dropped. */
const headerSafe = (value: string) => value.replace(/[^\x20-\x7e]/g, '');

describe('fuzzing every route', () => {
  // On a loaded machine a run takes longer; the bound is on each answer (ANSWER_WITHIN_MS), not on the total.
  it(
    'malformed parameters, headers and bodies get a 4xx (or a 2xx), never a 5xx or a hang',
    { timeout: 180_000 },
    async () => {
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          let i = 0;
          const path = r.endpoint.path.replace(/\{\w+\}/g, () => encodeURIComponent(r.params[i++] || 'x'));
          const query = new URLSearchParams(r.query as Record<string, string>).toString();
          const headers: Record<string, string> = {};
          if (r.body.type) headers['content-type'] = r.body.type;
          if (r.authorization === 'valid') headers.authorization = `Bearer ${submitter}`;
          else if (r.authorization !== undefined) headers.authorization = headerSafe(r.authorization);
          if (r.idempotencyKey !== undefined) headers['idempotency-key'] = headerSafe(r.idempotencyKey);
          if (r.lastEventId !== undefined) headers['last-event-id'] = headerSafe(r.lastEventId);
          const response = await fetch(`${api.url}${path}${query ? `?${query}` : ''}`, {
            method: r.endpoint.method.toUpperCase(),
            headers,
            body: r.endpoint.method === 'get' ? undefined : r.body.text,
            signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
          });
          const text = await response.text();
          expect(response.status, `${r.endpoint.method} ${path}?${query} -> ${text.slice(0, 300)}`).toBeLessThan(500);
          if (response.status >= 400) {
            // OpenAI's error envelope, which the SDKs read their typed errors from.
            expect(response.headers.get('content-type')).toMatch(/^application\/json/);
            expect(JSON.parse(text).error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
          }
        }),
        { numRuns: 200, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
      );
    },
  );

  it('arbitrary paths and methods get a 4xx, never a 5xx', { timeout: 180_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'),
        fc.webPath(),
        fc.boolean(),
        async (method, path, withKey) => {
          const reply = await call(api, method, `/v1${path}`, withKey ? { key: submitter } : {});
          expect(reply.status, `${method} /v1${path}`).toBeLessThan(500);
          expect(reply.status).toBeGreaterThanOrEqual(400);
        },
      ),
      { numRuns: 150 },
    );
  });
});
