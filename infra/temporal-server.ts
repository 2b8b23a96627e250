// The Temporal CLI's dev server: one process, SQLite persistence, optional Web UI.
import path from 'node:path';
import { startProcess, type ManagedProcess } from './process.ts';

// Registered at start-up because the dev server cannot add search attributes to a running namespace from the
// workflow side; the pipeline tags jobs with these so the UI and `temporal workflow list --query` can filter.
export const searchAttributes = {
  RatchetStatus: 'Keyword',
  RatchetModel: 'Keyword',
  RatchetSubmitter: 'Keyword',
} as const;

export type TemporalDevServerOptions = {
  binary: string;
  /** Holds the SQLite database and the log. */
  dir: string;
  namespace: string;
  ports: { grpc: number; http: number; ui?: number };
};

export function startTemporalDevServer({
  binary,
  dir,
  namespace,
  ports,
}: TemporalDevServerOptions): Promise<ManagedProcess> {
  const args = ['server', 'start-dev'];
  args.push('--db-filename', path.join(dir, 'temporal.db'));
  args.push('--ip', '127.0.0.1', '--port', String(ports.grpc), '--http-port', String(ports.http));
  args.push(...(ports.ui === undefined ? ['--headless'] : ['--ui-port', String(ports.ui)]));
  args.push('--namespace', namespace, '--log-level', 'warn');
  for (const [name, type] of Object.entries(searchAttributes)) args.push('--search-attribute', `${name}=${type}`);
  // Eager activities: a workflow task that schedules an activity on its own task queue gets the activity back in
  // the same answer, so the worker starts it without a trip through matching (about 40 ms an activity here,
  // bench/job-overhead-live.ts). On by default since server 1.32 (the cluster profile); the CLI's dev server
  // embeds 1.29, where it is off.
  args.push('--dynamic-config-value', 'system.enableActivityEagerExecution=true');
  return startProcess({
    name: 'temporal',
    command: binary,
    args,
    logFile: path.join(dir, 'temporal.log'),
    port: ports.grpc,
  });
}
