// Bearer authentication: finds who presents the key; the router then checks the role each route needs.
import type { MiddlewareHandler } from 'hono';
import type { KeyStore } from '../auth/keys.ts';
import { problem } from '../problem.ts';
import type { ApiEnv } from './endpoint.ts';

// Longer than any key this API issues or accepts as bootstrap: refused before any lookup.
const MAX_TOKEN_LENGTH = 512;

export function authenticate(keys: KeyStore): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const token = header?.match(/^Bearer ([\x21-\x7e]+)$/)?.[1];
    const unauthorized = (detail: string) =>
      problem(c, 401, { title: 'Unauthorized', detail }, { 'WWW-Authenticate': 'Bearer realm="ratchet"' });
    if (!header) return unauthorized('send an API key as Authorization: Bearer <key>');
    if (!token || token.length > MAX_TOKEN_LENGTH)
      return unauthorized('the Authorization header is not "Bearer <key>"');
    const principal = await keys.authenticate(token);
    // The same answer for unknown, wrong and revoked keys: a caller learns nothing about which keys exist.
    if (!principal) return unauthorized('the API key is not valid');
    c.set('principal', principal);
    await next();
  };
}
