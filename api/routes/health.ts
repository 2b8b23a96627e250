// Liveness and readiness, for humans and for orchestrators' probes.
import { z } from 'zod';
import { resource } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { problem } from '../problem.ts';
import { runChecks, type Check } from '../readiness.ts';

const api = resource('operations');

const healthz = api.get('/healthz', {
  summary: 'Liveness: the process serves HTTP',
  role: null,
  responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
});

const readyz = api.get('/readyz', {
  summary: 'Readiness: Temporal and S3 answer',
  role: null,
  responses: {
    200: {
      description: 'Ready',
      schema: z.object({ status: z.literal('ready'), checks: z.record(z.string(), z.unknown()) }),
    },
    503: { description: 'A dependency is unreachable; checks says which' },
  },
});

export const healthEndpoints = [healthz, readyz];

export function healthRoutes(checks: Record<string, Check>, limits: BodyLimits) {
  const { app, mount } = router(limits);

  // Answers as soon as the process serves HTTP; says nothing about Temporal or S3.
  mount(healthz, (c) => c.json({ status: 'ok' as const }));

  mount(readyz, async (c) => {
    const results = await runChecks(checks);
    const failed = Object.keys(results).filter((name) => results[name] !== 'ok');
    if (failed.length === 0) return c.json({ status: 'ready', checks: results });
    return problem(c, 503, { title: 'Not ready', detail: `unreachable: ${failed.join(', ')}`, checks: results });
  });

  return app;
}
