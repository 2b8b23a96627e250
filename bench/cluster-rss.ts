// Memory of the cluster's processes as the Helm chart runs them (deploy/helm/ratchet): `ratchet api`, a `cpu`
// worker, a `gpu` worker and a `ledger` worker, each its own process, on a local Temporal dev server and S3 server. One Iris job
// goes through the API to the gate (validation, training on `gpu`, evaluation, gate); then each
// process's peak resident set (VmHWM) and current one (VmRSS) are read from /proc. The chart's memory requests
// cite these figures.
//
//   node --import tsx bench/cluster-rss.ts
import { readFileSync } from 'node:fs';
import { apiRequest, irisJob } from './iris-job.ts';
import { startLocalStack } from './local-stack.ts';
import { apiReady, ratchetProcesses } from './ratchet-processes.ts';

const say = (line: string) => console.error(`bench: ${line}`);
const adminKey = 'bench-bootstrap-admin-key-0123456789abcdef';

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
const ratchet = ratchetProcesses(stack, { RATCHET_BOOTSTRAP_ADMIN_KEY: adminKey, RATCHET_API_PORT: '0' });
const started = {
  api: ratchet.start('api'),
  'cpu worker': ratchet.start('worker', { RATCHET_TASK_QUEUES: 'cpu' }),
  'gpu worker': ratchet.start('worker', { RATCHET_TASK_QUEUES: 'gpu' }),
  'ledger worker': ratchet.start('worker', { RATCHET_TASK_QUEUES: 'ledger' }),
};
const processes = Object.fromEntries(Object.entries(started).map(([name, { child }]) => [name, child]));

try {
  // A worker says it polls once its workflow bundle is built and its workers run.
  await Promise.all(Object.values(started).map(({ ready }) => ready));
  const url = await apiReady(started.api);
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
  await ratchet.stopAll();
  await stack.stop();
}
