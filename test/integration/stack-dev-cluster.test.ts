// `ratchet dev --cluster` as a user runs it: PostgreSQL, the Temporal server's four services, the S3 server, the API
// and three workers, each a process of its own below the stack; Ctrl-C must leave none of them behind. Runs only with
// RATCHET_TEST_TEMPORAL=cluster (vitest.config.ts), where the cluster's binaries are provisioned.
import { describe, expect, it } from 'vitest';
import { kill, processesBelow, startDev, survivors, waitFor } from '../helpers/dev-stack.ts';

/** The processes the stack started again, as its output names them. */
const restarted = (output: string) =>
  [...output.matchAll(/dev: (\S+) restarted \(pid (\d+)\)/g)].map(([, name, pid]) => ({
    name,
    pid: Number(pid),
    args: '',
  }));

describe('ratchet dev --cluster', () => {
  it(
    'serves the API with PostgreSQL, four Temporal services and three workers as processes, restarts a killed worker, and leaves none after Ctrl-C',
    { timeout: 240_000 },
    async () => {
      const dev = await startDev('Ratchet dev stack is up', {}, ['--cluster']);
      expect((await fetch(`${dev.apiUrl}/readyz`)).status).toBe(200);

      const processes = processesBelow(dev.child.pid!);
      const services = processes
        .filter(({ name }) => name === 'server')
        .map(({ args }) => /--service (\w+)/.exec(args)?.[1]);
      expect(services.sort()).toEqual(['frontend', 'history', 'matching', 'worker']);
      expect(processes.map(({ name }) => name)).toContain('postgres');
      expect(processes.map(({ name }) => name)).toContain('versitygw');
      const ratchet = processes
        .filter(({ args }) => args.includes('bin/ratchet.mjs'))
        .map(({ args }) => args.split(' ').at(-1));
      expect(ratchet.sort()).toEqual(['api', 'worker', 'worker', 'worker']);

      // A worker process killed is started again, as the servers are.
      const worker = processes.find(({ args }) => args.includes('bin/ratchet.mjs worker'))!;
      kill(worker.pid, 'SIGKILL');
      await waitFor(() => /dev: worker-\S+ restarted \(pid \d+\)/.test(dev.output()), 120_000);
      expect(dev.child.exitCode).toBeNull();

      dev.child.kill('SIGINT');
      expect(await dev.exited).toBe(0);
      expect(dev.output()).toContain('dev: stopped');
      expect(await survivors([...processes, ...restarted(dev.output())])).toEqual([]);
    },
  );
});
