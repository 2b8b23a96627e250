// The token bucket, on a clock the test moves, and its configuration from the environment.
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { ApiEnv } from '../../api/http/endpoint.ts';
import { DEFAULT_RATE_LIMIT, rateLimit } from '../../api/http/rate-limit.ts';
import { loadConfig } from '../../infra/config.ts';

function limitedApp(now: () => number) {
  const app = new Hono<ApiEnv>();
  app.use(async (c, next) => {
    c.set('principal', { keyId: c.req.header('x-key') ?? 'a', user: 'u', tenant: 't', roles: [] });
    await next();
  });
  app.use(rateLimit({ perSecond: 2, burst: 3 }, now));
  app.get('/', (c) => c.text('ok'));
  return app;
}

describe('rateLimit', () => {
  it('allows a burst, then refills at the rate, and says when to retry', async () => {
    let ms = 0;
    const app = limitedApp(() => ms);
    const status = async (key = 'a') => (await app.request('/', { headers: { 'x-key': key } })).status;
    expect([await status(), await status(), await status()]).toEqual([200, 200, 200]);
    const refused = await app.request('/', { headers: { 'x-key': 'a' } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ error: { type: 'rate_limit_error' } });
    expect(await status('b')).toBe(200);
    ms += 499;
    expect(await status()).toBe(429);
    ms += 1;
    expect([await status(), await status()]).toEqual([200, 429]);
    ms += 10_000;
    expect([await status(), await status(), await status(), await status()]).toEqual([200, 200, 200, 429]);
  });
});

describe('configuration', () => {
  it('defaults to the documented limit and takes RATCHET_API_RATE and RATCHET_API_BURST', () => {
    expect(loadConfig({}).apiRateLimit).toEqual(DEFAULT_RATE_LIMIT);
    expect(loadConfig({ RATCHET_API_RATE: '0.5', RATCHET_API_BURST: '5' }).apiRateLimit).toEqual({
      perSecond: 0.5,
      burst: 5,
    });
    expect(() => loadConfig({ RATCHET_API_RATE: '0' })).toThrowError(/RATCHET_API_RATE: expected a positive number/);
    expect(() => loadConfig({ RATCHET_API_BURST: '1.5' })).toThrowError(/RATCHET_API_BURST: expected a whole number/);
  });
});
