// `ratchet api` as the Helm chart runs it: a process of its own on the test stack's Temporal and S3, no workers.
// It must answer the probes the chart points at, stop promptly on SIGTERM (Kubernetes' stop signal) even with a
// request still open, and refuse to start, naming the variable, when a TLS file is missing.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../infra/ports.ts';
import { stackEnv } from '../helpers/stack.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const running: Array<() => void> = [];
afterEach(() => {
  for (const stop of running.splice(0)) stop();
});

function startApi(extra: Record<string, string>) {
  const env = {
    ...process.env,
    ...stackEnv(),
    ...extra,
  };
  const child = spawn(process.execPath, ['bin/ratchet.mjs', 'api'], { cwd: repoRoot, env });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  running.push(() => child.exitCode === null && child.kill('SIGKILL'));
  return { child, exited, output: () => output };
}

describe('ratchet api', () => {
  it('answers /healthz and /readyz, and exits 0 on SIGTERM within the drain bound with a request still open', async () => {
    const port = await freePort();
    const api = startApi({ RATCHET_API_PORT: String(port) });
    const url = `http://127.0.0.1:${port}`;
    await expect
      .poll(
        () =>
          fetch(`${url}/healthz`).then(
            (r) => r.status,
            () => 0,
          ),
        { timeout: 30_000 },
      )
      .toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { temporal: 'ok', s3: 'ok' } });
    expect(api.output()).toMatch(/api: listening on /);

    // A request whose headers never end keeps its connection busy, as an open event stream does, so the graceful
    // close cannot finish; the drain's bound (10 s, infra/api.ts) must end the process.
    const held = net.connect(port, '127.0.0.1');
    await once(held, 'connect');
    held.write('GET /healthz HTTP/1.1\r\nHost: ratchet\r\n');
    held.on('error', () => {});
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopping = performance.now();
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    const took = performance.now() - stopping;
    expect(took).toBeGreaterThan(9_000);
    expect(took).toBeLessThan(15_000);
    held.destroy();
  }, 60_000);

  it('refuses to start when a TLS file is missing, naming the variable', async () => {
    const api = startApi({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/nonexistent/ca.crt' });
    expect(await api.exited).toBe(2);
    expect(api.output()).toMatch(/api: TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read \/nonexistent\/ca.crt/);
  });
});
