// `ratchet api` and `ratchet worker` as the cluster runs them: each its own process (bin/ratchet.mjs) on a bench's
// local Temporal dev server and S3 server (./local-stack.ts), a worker with the Node flags the Helm chart gives it.
// The benches that measure the cluster's processes (cluster-rss, load) share it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chartNodeOptions } from '../infra/cluster/chart-node-options.ts';
import type { startLocalStack } from './local-stack.ts';

const cli = fileURLToPath(new URL('../bin/ratchet.mjs', import.meta.url));

export type RatchetProcess = {
  child: ChildProcess;
  /** The line in which it says it serves (`api: listening on URL; ...`) or polls, once it has said so. */
  ready: Promise<string>;
};

/** Starts and stops `ratchet` processes configured for `stack`, with `env` (the admin key, a rate limit) added. */
export function ratchetProcesses(stack: Awaited<ReturnType<typeof startLocalStack>>, env: Record<string, string>) {
  const base = {
    ...process.env,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    S3_ENDPOINT: stack.s3Endpoint,
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    ...env,
  };
  const children: ChildProcess[] = [];
  return {
    /** `ratchet <command>` with `extra` in its environment; its output goes to this process's stderr. */
    start(command: 'api' | 'worker', extra: Record<string, string> = {}): RatchetProcess {
      const queue = extra.RATCHET_TASK_QUEUES;
      const flags = command === 'worker' && queue ? { NODE_OPTIONS: chartNodeOptions(queue) } : {};
      const child = spawn(process.execPath, [cli, command], {
        env: { ...base, ...flags, ...extra },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const ready = new Promise<string>((resolve, reject) => {
        let buffered = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          process.stderr.write(chunk);
          buffered += chunk.toString();
          const line = buffered.split('\n').find((l) => /listening on|polling/.test(l));
          if (line) resolve(line);
        });
        child.once('exit', (code) => reject(new Error(`ratchet ${command} exited (${code}) before it was ready`)));
      });
      return { child, ready };
    },
    /**
     * SIGTERM to every process started, resolved once all have exited; one still running after `graceMs` is
     * killed (SIGKILL) and named, so that a bench ends.
     */
    stopAll: (graceMs = 20_000) =>
      Promise.all(
        children.map(
          (child) =>
            new Promise((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve(null);
              const kill = setTimeout(() => {
                console.error(
                  `bench: ${child.spawnargs.slice(2).join(' ')} (pid ${child.pid}) still running after SIGTERM; SIGKILL`,
                );
                child.kill('SIGKILL');
              }, graceMs);
              child.once('exit', () => resolve(clearTimeout(kill)));
              child.kill('SIGTERM');
            }),
        ),
      ),
  };
}

/** The URL a `ratchet api` said it listens on, once its /readyz answers (Temporal reached). */
export async function apiReady(api: RatchetProcess): Promise<string> {
  const url = /listening on (\S+);/.exec(await api.ready)![1];
  for (;;) {
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return url;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
