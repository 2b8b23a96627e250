// Liveness and readiness, for humans and for orchestrators' probes.
import { Hono } from 'hono';
import { problem } from '../problem.ts';
import { runChecks, type Check } from '../readiness.ts';

export function healthRoutes(checks: Record<string, Check>): Hono {
  const routes = new Hono();

  // Answers as soon as the process serves HTTP; says nothing about Temporal or S3.
  routes.get('/healthz', (c) => c.json({ status: 'ok' }));

  routes.get('/readyz', async (c) => {
    const results = await runChecks(checks);
    const failed = Object.keys(results).filter((name) => results[name] !== 'ok');
    if (failed.length === 0) return c.json({ status: 'ready', checks: results });
    return problem(c, 503, { title: 'Not ready', detail: `unreachable: ${failed.join(', ')}`, checks: results });
  });

  return routes;
}
