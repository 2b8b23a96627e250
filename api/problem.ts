// Every error response of the API: OpenAI's envelope, {"error": {message, type, param, code}}, so the official
// OpenAI SDKs raise their typed errors (BadRequestError, NotFoundError, ...) carrying Ratchet's message.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** One invalid field: where it is (`body.training.config.lr`, `query.limit`) and what is wrong with it. */
export type FieldError = { path: string; message: string };

/**
 * What went wrong: a short title (it becomes the machine-readable `code`), the message a person reads, the invalid
 * fields, and extension members a route adds (e.g. readiness checks).
 */
export type Problem = { title: string; detail?: string; errors?: FieldError[]; [extension: string]: unknown };

// OpenAI's `type` values by status; anything else 4xx is an invalid request.
const TYPES: Partial<Record<number, string>> = {
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  429: 'rate_limit_error',
};

/** The field a client fixes, as OpenAI names it: `training_file`, `limit` (without Ratchet's `body.` prefix). */
const paramOf = (error: FieldError | undefined) => error?.path.replace(/^(body|query|path|header)\./, '') ?? null;

export function errorBody(status: number, { title, detail, errors, ...extensions }: Problem) {
  return {
    error: {
      message: detail ?? title,
      type: status >= 500 ? 'server_error' : (TYPES[status] ?? 'invalid_request_error'),
      param: paramOf(errors?.[0]),
      code: title.toLowerCase().replace(/[^a-z0-9]+/g, '_'),
      ...(errors ? { errors } : {}),
      ...extensions,
    },
  };
}

export function problem(c: Context, status: ContentfulStatusCode, body: Problem, headers: Record<string, string> = {}) {
  return c.json(errorBody(status, body), status, headers);
}

/**
 * What a handler throws to answer with an error; the app's error handler turns it into the response. Handlers
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

/** A 400 naming one field (`body.training_file`, `query.after`) and what is wrong with it. */
export const invalidField = (path: string, message: string) =>
  new HttpProblem(400, { title: 'Invalid request', detail: `${path}: ${message}`, errors: [{ path, message }] });
