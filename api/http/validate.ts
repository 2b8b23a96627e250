// Request parsing at the edge: a request either matches its endpoint's schemas or gets a 400 naming every wrong
// field (415 for a body that is not the declared media type). A well-formed body with wrong fields is a 400 too,
// not a 422: that is what OpenAI answers, and what its SDKs raise BadRequestError for.
import type { z } from 'zod';
import { HttpProblem, type FieldError } from '../problem.ts';
import type { ApiContext, Endpoint, Input } from './endpoint.ts';

export async function parseInput<E extends Endpoint>(c: ApiContext, endpoint: E): Promise<Input<E>> {
  const params = endpoint.params && check('path', endpoint.params, c.req.param());
  const query = endpoint.query && check('query', endpoint.query, c.req.query());
  const body = endpoint.body && check('body', endpoint.body, await readBody(c, endpoint));
  return { params, query, body } as Input<E>;
}

async function readBody(c: ApiContext, endpoint: Endpoint): Promise<unknown> {
  const type = c.req.header('content-type')?.split(';')[0].trim().toLowerCase() ?? '';
  const expected = endpoint.multipart ? 'multipart/form-data' : 'application/json';
  if (type !== expected) {
    throw new HttpProblem(415, {
      title: 'Unsupported media type',
      detail: `expected a ${expected} body, got ${type || 'no Content-Type'}`,
    });
  }
  try {
    return endpoint.multipart ? await c.req.parseBody() : await c.req.json();
  } catch (error) {
    throw new HttpProblem(400, {
      title: 'Malformed body',
      detail: `the body is not valid ${expected}: ${(error as Error).message}`,
    });
  }
}

function check(where: string, schema: z.ZodType, value: unknown): unknown {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors: FieldError[] = parsed.error.issues.map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new HttpProblem(400, {
    title: 'Invalid request',
    detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
    errors,
  });
}
