// Memory of the cluster's processes as the Helm chart runs them (deploy/helm/ratchet): `ratchet api`, a `cpu`
// worker, a `gpu` worker and a `ledger` worker, each its own process, on a local Temporal dev server and S3 server. One Iris job
// goes through the API to the gate (validation, training on `gpu`, evaluation, gate); then each
// process's peak resident set (VmHWM) and current one (VmRSS) are read from /proc. The chart's memory requests
// cite these figures.
//
//   node --import tsx bench/cluster-rss.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../infra/ports.ts';
import { apiRequest, irisJob } from './iris-job.ts';
import { startLocalStack } from './local-stack.ts';

const say = (line: string) => console.error(`bench: ${line}`);
const adminKey = 'bench-bootstrap-admin-key-0123456789abcdef';
const cli = fileURLToPath(new URL('../bin/ratchet.mjs', import.meta.url));

/** VmRSS and VmHWM of `pid` in MiB, and the CPU seconds it has used (user + system). */
function usage(pid: number): { rss: number; peak: number; cpu: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
  // /proc/PID/stat: utime and stime are fields 14 and 15, in clock ticks (100 a second on Linux); the command
  // name (field 2) is in parentheses and may hold spaces, so the fields are counted after it.
  const [utime, stime] = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ').slice(11, 13).map(Number);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024, cpu: (utime + stime) / 100 };
}

const stack = await startLocalStack('rss', say);
const apiPort = await freePort();
const env = {
  ...process.env,
  TEMPORAL_ADDRESS: stack.temporalAddress,
  S3_ENDPOINT: stack.s3Endpoint,
  AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
  RATCHET_BOOTSTRAP_ADMIN_KEY: adminKey,
  RATCHET_API_PORT: String(apiPort),
};
/** `ratchet <command>` with `extra` in its environment; resolves once its first line says it serves or polls. */
function start(command: string, extra: Record<string, string> = {}): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, [cli, command], {
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      if (/listening on|polling/.test(chunk.toString())) resolve();
    });
    child.once('exit', (code) => reject(new Error(`ratchet ${command} exited (${code}) before it was ready`)));
  });
  return { child, ready };
}

const started = {
  api: start('api'),
  'cpu worker': start('worker', { RATCHET_TASK_QUEUES: 'cpu' }),
  'gpu worker': start('worker', { RATCHET_TASK_QUEUES: 'gpu' }),
  'ledger worker': start('worker', { RATCHET_TASK_QUEUES: 'ledger' }),
};
const processes = Object.fromEntries(Object.entries(started).map(([name, { child }]) => [name, child]));

try {
  const url = `http://127.0.0.1:${apiPort}`;
  // A worker says it polls once its workflow bundle is built and its workers run.
  await Promise.all(Object.values(started).map(({ ready }) => ready));
  for (let up = false; !up;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    up = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
  }
  const idle = Object.fromEntries(Object.entries(processes).map(([name, child]) => [name, usage(child.pid!)]));
  const jobStarted = performance.now();
  const { id, status } = await irisJob(apiRequest(url), adminKey);
  say(`job ${id} reached ${status} after ${((performance.now() - jobStarted) / 1000).toFixed(1)} s`);
  console.log(
    '| process | RSS when ready (MiB) | RSS after the job (MiB) | peak RSS (MiB) | CPU s to ready | CPU s for the job |',
  );
  console.log(
    '| ------- | -------------------- | ----------------------- | -------------- | -------------- | ----------------- |',
  );
  for (const [name, child] of Object.entries(processes)) {
    const now = usage(child.pid!);
    const cells = [idle[name].rss, now.rss, now.peak].map((mib) => mib.toFixed(0));
    const cpu = [idle[name].cpu, now.cpu - idle[name].cpu].map((s) => s.toFixed(1));
    console.log(`| ${name} | ${[...cells, ...cpu].join(' | ')} |`);
  }
} finally {
  await Promise.all(
    Object.values(processes).map(
      (child) =>
        new Promise((resolve) =>
          child.exitCode === null ? (child.once('exit', resolve), child.kill('SIGTERM')) : resolve(null),
        ),
    ),
  );
  await stack.stop();
}
