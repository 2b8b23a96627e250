// `ratchet dev` as a user runs it: a separate process with its own data dir and ports. Ctrl-C must leave no
// process behind; a server that dies is started again on its ports and data, and workers and the API carry on; a
// server that keeps dying stops the whole stack with an error.
import { describe, expect, it } from 'vitest';
import { locate, temporalCli } from '../../infra/provision.ts';
import { kill, pollers, processesBelow, startDev, survivors, waitFor, waitForAsync } from '../helpers/dev-stack.ts';

describe('ratchet dev', () => {
  it('serves the API against its own servers and leaves no process after Ctrl-C', { timeout: 180_000 }, async () => {
    const dev = await startDev();
    expect((await fetch(`${dev.apiUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${dev.apiUrl}/readyz`);
    expect(ready.status).toBe(200);

    // temporal and versitygw, and the esbuild service tsx runs: all must be gone after Ctrl-C.
    const processes = processesBelow(dev.child.pid!);
    const names = processes.map(({ name }) => name);
    expect(names).toContain('temporal');
    expect(names).toContain('versitygw');

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.output()).toContain('dev: stopped');
    expect(await survivors(processes)).toEqual([]);
  });

  it('stops cleanly when Ctrl-C comes during start-up', { timeout: 180_000 }, async () => {
    const dev = await startDev('dev: temporal started');
    const processes = processesBelow(dev.child.pid!);
    expect(processes.map(({ name }) => name)).toContain('temporal');

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.output()).not.toContain('Ratchet dev stack is up');
    expect(await survivors([...processes, ...processesBelow(dev.child.pid!)])).toEqual([]);
  });

  it('restarts a server that dies; workers poll again and the API serves', { timeout: 240_000 }, async () => {
    const adminKey = 'dev-restart-test-admin-key-0123456789';
    const dev = await startDev(undefined, { RATCHET_BOOTSTRAP_ADMIN_KEY: adminKey });
    const temporalAddress = /Temporal\s+(127\.0\.0\.1:\d+)/.exec(dev.output())![1];
    const jobs = () => fetch(`${dev.apiUrl}/v1/fine_tuning/jobs`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect((await jobs()).status).toBe(200);

    for (const name of ['versitygw', 'temporal']) {
      const server = processesBelow(dev.child.pid!).find((p) => p.name === name)!;
      kill(server.pid, 'SIGKILL');
      const restarted = name === 'versitygw' ? 's3' : 'temporal';
      // The stack's own lines say why when no restart comes (a start that failed, a port taken).
      await waitFor(
        () => dev.output().includes(`dev: ${restarted} restarted`),
        60_000,
        () => dev.output().slice(-4000),
      );
      expect(dev.output()).toContain(`dev: ${restarted} exited unexpectedly (killed by SIGKILL)`);
      await waitForAsync(async () => (await fetch(`${dev.apiUrl}/readyz`)).status === 200, 60_000);
    }
    // A Temporal server that stops answering (SIGSTOP: alive, silent): a read answers 503 within its deadline, not a
    // 500 and not a hang, and 200 again once the server goes on.
    const frozen = processesBelow(dev.child.pid!).find((p) => p.name === 'temporal')!;
    kill(frozen.pid, 'SIGSTOP');
    try {
      const asked = Date.now();
      const reply = await jobs();
      const waited = Date.now() - asked;
      console.log(`stack-dev: jobs list with Temporal stopped: ${reply.status} after ${waited} ms`);
      expect(reply.status).toBe(503);
      expect(reply.headers.get('retry-after')).toBeTruthy();
      expect(waited).toBeLessThan(8_000);
    } finally {
      kill(frozen.pid, 'SIGCONT');
    }
    // The API's client reached the new Temporal server, and the workers poll it again (a fresh server knows only
    // the pollers that reconnected to it).
    await waitForAsync(async () => (await jobs()).status === 200, 30_000);
    const temporal = (await locate(temporalCli))!;
    await waitForAsync(async () => (await pollers(temporal, temporalAddress, 'cpu')) > 0, 60_000);
    expect(dev.child.exitCode).toBeNull();

    const processes = processesBelow(dev.child.pid!);
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(await survivors(processes)).toEqual([]);
  });

  it('stops the whole stack with an error when a server dies and restarts are off', { timeout: 180_000 }, async () => {
    const dev = await startDev(undefined, { RATCHET_DEV_RESTARTS: '0' });
    const processes = processesBelow(dev.child.pid!);
    const s3Server = processes.find(({ name }) => name === 'versitygw')!;

    kill(s3Server.pid, 'SIGKILL');
    expect(await dev.exited).toBe(1);
    expect(dev.output()).toContain('dev: s3 exited unexpectedly (killed by SIGKILL)');
    expect(await survivors(processes)).toEqual([]);
  });
});
