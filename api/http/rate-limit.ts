// A token bucket per API key: `burst` requests at once, refilled at `perSecond`. Past it, 429 with Retry-After.
// Per process: behind N API processes a key gets N times the rate.
import type { MiddlewareHandler } from 'hono';
import { problem } from '../problem.ts';
import type { ApiEnv } from './endpoint.ts';

export type RateLimit = { perSecond: number; burst: number };

/** Generous for people and scripts, low enough that one runaway client cannot take the API's time from the rest. */
export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 40 };

type Bucket = { tokens: number; at: number };

// Buckets idle this long are full again and can be dropped, which bounds the map by the keys active recently.
const SWEEP_EVERY = 10_000;

export function rateLimit({ perSecond, burst }: RateLimit, now = () => performance.now()): MiddlewareHandler<ApiEnv> {
  const buckets = new Map<string, Bucket>();
  let lastSweep = now();
  return async (c, next) => {
    const t = now();
    if (t - lastSweep > SWEEP_EVERY) {
      const idleFull = (burst / perSecond) * 1000;
      for (const [key, bucket] of buckets) if (t - bucket.at > idleFull) buckets.delete(key);
      lastSweep = t;
    }
    const key = c.get('principal').keyId;
    const bucket = buckets.get(key) ?? { tokens: burst, at: t };
    bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) / 1000) * perSecond);
    bucket.at = t;
    buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const retryAfter = Math.ceil((1 - bucket.tokens) / perSecond);
      return problem(
        c,
        429,
        { title: 'Too many requests', detail: `this key may make ${perSecond} requests a second (bursts of ${burst})` },
        { 'Retry-After': String(retryAfter) },
      );
    }
    bucket.tokens -= 1;
    await next();
  };
}
