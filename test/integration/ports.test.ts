// No start-up races: a server whose chosen port another process takes first comes up on another port
// (infra/ports.ts `onFreePorts`, infra/process.ts PortInUse), for both ways a port can turn out taken.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, freePortIn, onFreePorts } from '../../infra/ports.ts';
import { PortInUse, listenerOwnedBy, type ManagedProcess } from '../../infra/process.ts';
import { ensureAll } from '../../infra/provision.ts';
import { startS3Server } from '../../infra/s3-server.ts';
import { startTemporalDevServer } from '../../infra/temporal-server.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ratchet-ports-test-'));
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Another process's listener, stood in for by one in this process: on a free port, or on `port`. */
async function occupy(port = 0): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

const stopLater = (server: ManagedProcess) => cleanups.push(() => server.stop());
const say = () => {};

describe('a server whose chosen port is taken', () => {
  it('S3: the port is busy before the start; the start is retried on another port', { timeout: 60_000 }, async () => {
    const { versitygw } = await ensureAll(say);
    const busy = await occupy();
    const chosen: number[] = [];
    const { ports, started } = await onFreePorts(
      async () => {
        chosen.push(chosen.length === 0 ? busy : await freePort());
        return chosen.at(-1)!;
      },
      (port) =>
        startS3Server({
          binary: versitygw,
          dir: path.join(dir, 's3'),
          port,
          credentials: { accessKeyId: 'ports', secretAccessKey: 'ports-secret' },
        }),
    );
    stopLater(started);
    expect(chosen[0]).toBe(busy);
    expect(ports).not.toBe(busy);
    expect(listenerOwnedBy(started.pid, ports)).toBe(true);
    expect((await fetch(`http://127.0.0.1:${ports}/`)).status).toBeLessThan(500);
  });

  it(
    'Temporal: its HTTP port is taken, the server fails to bind it, and starts on new ports',
    { timeout: 120_000 },
    async () => {
      const { temporal } = await ensureAll(say);
      // The readiness check looks at the gRPC port only: the server itself finds the HTTP port taken.
      const busy = await occupy();
      let attempt = 0;
      const { ports, started } = await onFreePorts(
        async () => ({ grpc: await freePort(), http: attempt++ === 0 ? busy : await freePort() }),
        (ports) =>
          startTemporalDevServer({ binary: temporal, dir: path.join(dir, 'temporal'), namespace: 'default', ports }),
      );
      stopLater(started);
      expect(attempt).toBe(2);
      expect(ports.http).not.toBe(busy);
      expect(listenerOwnedBy(started.pid, ports.grpc)).toBe(true);
    },
  );

  it('gives up after the last attempt with PortInUse', async () => {
    const busy = await occupy();
    const start = () =>
      startS3Server({
        binary: 'versitygw-not-run',
        dir: path.join(dir, 'never'),
        port: busy,
        credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
      });
    await expect(onFreePorts(async () => busy, start, 2)).rejects.toBeInstanceOf(PortInUse);
  });

  it('tells its own listener from another process’s', async () => {
    const port = await occupy();
    expect(listenerOwnedBy(process.pid, port)).toBe(true);
    expect(listenerOwnedBy(process.ppid, port)).toBe(false);
    expect(listenerOwnedBy(process.pid, await freePort())).toBe(false);
  });

  it('picks a free port within a range (the Temporal cluster needs ports below 32768), never a taken one', async () => {
    const taken = await occupy();
    await expect(freePortIn(taken, taken)).rejects.toThrow(`no free port on 127.0.0.1 between ${taken} and ${taken}`);
    const port = await freePortIn(10_000, 32_767);
    expect(port).toBeGreaterThanOrEqual(10_000);
    expect(port).toBeLessThanOrEqual(32_767);
    await occupy(port); // free indeed: this process can bind it
  });
});
