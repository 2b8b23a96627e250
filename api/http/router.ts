// Mounts endpoints on a Hono sub-app: body-size limit, role check, validation, then the handler.
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { holds, type Role } from '../auth/principal.ts';
import { HttpProblem, problem } from '../problem.ts';
import { honoPath, type ApiContext, type ApiEnv, type Endpoint, type Input } from './endpoint.ts';
import { parseInput } from './validate.ts';

export type BodyLimits = {
  /** JSON bodies. */
  maxJsonBytes: number;
  /** Multipart uploads; larger files go through a presigned PUT. */
  maxUploadBytes: number;
};

export type Handler<E extends Endpoint> = (c: ApiContext, input: Input<E>) => Response | Promise<Response>;

export function router(limits: BodyLimits) {
  const app = new Hono<ApiEnv>();
  const mount = <E extends Endpoint>(endpoint: E, handler: Handler<E>) => {
    const path = honoPath(endpoint.path);
    const serve = async (c: ApiContext) => {
      if (endpoint.role) authorize(c, endpoint.role);
      return handler(c, await parseInput(c, endpoint));
    };
    // No limit on a GET, whose body no handler reads: the limit's look at the body builds the fetch Request that
    // @hono/node-server otherwise never makes (a tenth of the API's CPU under `bench/api-wrk.sh`).
    if (endpoint.method === 'get') {
      app.get(path, serve);
      return;
    }
    const maxSize = endpoint.multipart ? limits.maxUploadBytes : limits.maxJsonBytes;
    const limit = bodyLimit({
      maxSize,
      // The rest of the body is never read, so the connection cannot carry another request: say so, or a client
      // that reuses it fails its next request.
      onError: (c) =>
        problem(
          c,
          413,
          { title: 'Payload too large', detail: `the body exceeds ${maxSize} bytes` },
          { Connection: 'close' },
        ),
    });
    app.on(endpoint.method.toUpperCase(), path, limit, serve);
  };
  return { app, mount };
}

function authorize(c: ApiContext, role: Role): void {
  const principal = c.get('principal');
  if (!principal) throw new HttpProblem(401, { title: 'Unauthorized', detail: 'an API key is required' });
  if (!holds(principal, role)) {
    throw new HttpProblem(403, {
      title: 'Forbidden',
      detail: `this route needs the ${role} role; the key holds ${principal.roles.join(', ') || 'none'}`,
    });
  }
}
