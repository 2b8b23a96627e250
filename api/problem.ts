// RFC 9457 problem details: every error response of the API has this shape and media type.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** One invalid field: where it is (`training.config.lr`, `query.limit`) and what is wrong with it. */
export type FieldError = { path: string; message: string };

export type Problem = { title: string; detail?: string; errors?: FieldError[]; [extension: string]: unknown };

export function problem(c: Context, status: ContentfulStatusCode, body: Problem, headers: Record<string, string> = {}) {
  return c.body(JSON.stringify({ type: 'about:blank', status, ...body }), status, {
    ...headers,
    'Content-Type': 'application/problem+json',
  });
}

/**
 * What a handler throws to answer with a problem; the app's error handler turns it into the response. Handlers
 * throw rather than return so that a helper deep in a call (e.g. "find this tenant's job") can end the request.
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly body: Problem,
    readonly headers: Record<string, string> = {},
  ) {
    super(body.detail ?? body.title);
  }
}

export const notFound = (what: string) => new HttpProblem(404, { title: 'Not found', detail: `no ${what}` });

export const conflict = (detail: string) => new HttpProblem(409, { title: 'Conflict', detail });

/** A list cursor Temporal refused: one this API did not issue (cursors are opaque page tokens). */
export const forgedCursor = () =>
  new HttpProblem(400, {
    title: 'Invalid request',
    detail: 'query.cursor: not a cursor this API issued',
    errors: [{ path: 'query.cursor', message: 'not a cursor this API issued' }],
  });
