// RFC 9457 problem details: every error response of the API has this shape and media type.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type Problem = { title: string; detail?: string; [extension: string]: unknown };

export function problem(c: Context, status: ContentfulStatusCode, body: Problem): Response {
  return c.body(JSON.stringify({ type: 'about:blank', status, ...body }), status, {
    'Content-Type': 'application/problem+json',
  });
}
