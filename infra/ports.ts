import net from 'node:net';
import { PortInUse } from './process.ts';

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; another process could still take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A TCP port in [min, max] on 127.0.0.1 that was free a moment ago, for a server that cannot use the OS's choice
 * (the Temporal server keeps its ports in a PostgreSQL smallint: at most 32767, below Linux's ephemeral range).
 */
export async function freePortIn(min: number, max: number): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = min + Math.floor(Math.random() * (max - min + 1));
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${min} and ${max} after 100 tries`);
}

/** How many fresh choices of ports a start gets before its PortInUse is final. */
export const PORT_ATTEMPTS = 5;

/**
 * Starts a server on ports that `choose` picks, and on newly picked ones when the start finds one of them taken.
 * Binding port 0 and reading back the port would close the race, but neither server binary reports the ports it
 * got (the Temporal dev server also picks ports of its own this way), so the stack picks free ports, binds them
 * later, and retries when another process was quicker (infra/process.ts throws PortInUse for that), up to
 * PORT_ATTEMPTS times. The Hono API binds port 0 itself (api/server.ts) and needs none of this.
 */
export async function onFreePorts<P, T>(
  choose: () => Promise<P>,
  start: (ports: P) => Promise<T>,
  attempts = PORT_ATTEMPTS,
): Promise<{ ports: P; started: T }> {
  for (let attempt = 1; ; attempt++) {
    const ports = await choose();
    try {
      return { ports, started: await start(ports) };
    } catch (error) {
      if (!(error instanceof PortInUse) || attempt >= attempts) throw error;
    }
  }
}
