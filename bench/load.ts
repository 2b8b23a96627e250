// Load, as the cluster runs (deploy/helm/ratchet): two `ratchet api` replicas and one `ratchet worker` per queue
// (`cpu`, `gpu`, `ledger`), each its own process, on a local Temporal dev server and S3 server.
// 1. `jobs` Iris jobs submitted at once through the API (round-robin over the replicas) queue on the one `gpu`
//    worker, which trains one at a time. Each job's wait for it (job created -> its training started in the worker)
//    and training time come from its Temporal history: the job's `ratchet.transitions` say when the workflow
//    scheduled training, not when the worker took it up. Then every job is approved and deployed; none may be lost:
//    each deployed as its own registry version, each with its seven ledger entries, the chain verified.
// 2. While the jobs await approval, `wrk` on one job's GET status: one replica, both, both, one (wrk's threads spread
//    over the two ports, bench/wrk/spread.lua), same threads and connections; with each replica's count of answers
//    by status.
// The per-key rate limit is raised out of the way, as in bench/api-wrk.ts.
//
//   node --import tsx bench/load.ts [jobs=50] [wrk threads=2] [connections=16] [duration=20s]
import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { apiRequest, createIrisJob, irisFiles, newKey, untilStatus, type ApiRequest } from './iris-job.ts';
import { DEPLOYED_JOB_ACTIONS } from '../test/helpers/iris.ts';
import { activitySpan, overheadOf } from './job-overhead.ts';
import { startLocalStack } from './local-stack.ts';
import { apiReady, ratchetProcesses } from './ratchet-processes.ts';
import { jobRouteStatuses, wrk } from './wrk.ts';

const [jobsArg = '50', threads = '2', connections = '16', duration = '20s'] = process.argv.slice(2);
const jobs = Number(jobsArg);
const say = (line: string) => console.error(`bench: ${line}`);
const adminKey = 'bench-bootstrap-admin-key-0123456789abcdef';
const json = (value: unknown) => JSON.stringify(value);
const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Nearest-rank percentiles of `values` (ms), as seconds with one decimal. */
function spread(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => (sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] / 1000).toFixed(1);
  return `p50 ${at(50)} s, p99 ${at(99)} s, max ${at(100)} s`;
}

const loadAtStart = os.loadavg();
const stack = await startLocalStack('load', say);
const ratchet = ratchetProcesses(stack, {
  RATCHET_BOOTSTRAP_ADMIN_KEY: adminKey,
  RATCHET_API_PORT: '0',
  RATCHET_API_RATE: '1000000',
  RATCHET_API_BURST: '1000000',
});
const apis = [ratchet.start('api'), ratchet.start('api')];
const workers = ['cpu', 'gpu', 'ledger'].map((queue) => ratchet.start('worker', { RATCHET_TASK_QUEUES: queue }));
const connection = await Connection.connect({ address: stack.temporalAddress });
const temporal = new Client({ connection, namespace: 'default' });

try {
  await Promise.all(workers.map(({ ready }) => ready));
  const urls = await Promise.all(apis.map(apiReady));
  const replicas = urls.map(apiRequest);
  let turn = 0;
  // A 503 (no worker answered the job's status query within the API's 5 s) is retried a second later, as a client
  // should, and counted; more than 500 of them ends the run.
  let retried503 = 0;
  const request: ApiRequest = (...args) =>
    replicas[turn++ % replicas.length](...args).catch(async (error: Error) => {
      if (!/: 503 /.test(error.message) || ++retried503 > 500) throw error;
      await settle(1000);
      return request(...args);
    });
  const key = await newKey(request, adminKey, 'bench', ['submitter']);
  const approver = await newKey(request, adminKey, 'bench-approver', ['approver']);
  const files = await irisFiles(request, key);

  // 1. The jobs, submitted at once.
  const t0 = Date.now();
  const ids = await Promise.all(Array.from({ length: jobs }, () => createIrisJob(request, key, files)));
  say(`${ids.length} jobs created in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // Every 2 s: fifty jobs polled faster would be a load of their own. The times come from the jobs, not the polls.
  const gated = await Promise.all(ids.map((id) => untilStatus(request, key, id, 'awaiting_approval', 2000)));
  const gatedAt = (job: (typeof gated)[number]) =>
    Date.parse(job.ratchet.transitions.find((t: { state: string }) => t.state === 'awaiting_approval').at);
  const lastGated = Math.max(...gated.map(gatedAt));

  // 2. GET status of one waiting job, one replica then both, while all the jobs' workflows are open.
  const wrkOptions = { threads, connections, duration, key };
  const ports = urls.map((url) => Number(new URL(url).port));
  const reads = [];
  // In the order one, two, two, one: a machine whose load drifts during the runs favours neither.
  const one = ['one replica', ports.slice(0, 1)] as const;
  const two = ['two replicas', ports] as const;
  for (const [name, replicasUsed] of [one, two, two, one]) {
    // Queries a run left in flight end (5 s at most, api QUERY_TIMEOUT_MS) before the next starts.
    await settle(6000);
    const before = await Promise.all(urls.map(jobRouteStatuses));
    const run = await wrk(`${urls[0]}/v1/fine_tuning/jobs/${ids[0]}`, wrkOptions, [...replicasUsed]);
    const after = await Promise.all(urls.map(jobRouteStatuses));
    process.stderr.write(`${run.command}\n${run.report}`);
    const byReplica = after.map((counts, i) =>
      Object.fromEntries(
        Object.entries(counts)
          .map(([status, n]) => [status, n - (before[i][status] ?? 0)])
          .filter(([, n]) => n),
      ),
    );
    reads.push({ name, ...run, byReplica });
  }

  // The jobs approved at once, then deployed.
  await settle(6000);
  const approvedAt = Date.now();
  const approve = (id: string) =>
    request('POST', `/v1/fine_tuning/jobs/${id}/approve`, approver, json({ reason: 'load bench' }), 'application/json');
  await Promise.all(ids.map(approve));
  const deployed = await Promise.all(ids.map((id) => untilStatus(request, key, id, 'deployed', 2000)));
  const deployedAt = (job: (typeof deployed)[number]) =>
    Date.parse(job.ratchet.transitions.find((t: { state: string }) => t.state === 'deployed').at);
  const lastDeployed = Math.max(...deployed.map(deployedAt));

  // Per job, from its history: its wait for the `gpu` worker, its training, and its activities.
  const histories = await Promise.all(
    ids.map(async (id) => (await temporal.workflow.getHandle(id).fetchHistory()).events ?? []),
  );
  const spans = histories.map((events, i) => {
    const span = activitySpan(events, 'train');
    if (!span) throw new Error(`job ${ids[i]}: no completed train activity in its history`);
    return span;
  });
  // Over all the jobs, by activity type: calls, run time summed, retries; and time activities waited for a worker.
  const activities: Record<string, { count: number; ms: number; retries: number }> = {};
  let scheduleToStartMs = 0;
  for (const overhead of histories.map(overheadOf)) {
    scheduleToStartMs += overhead.scheduleToStartMs;
    for (const [type, a] of Object.entries(overhead.activities)) {
      const sum = (activities[type] ??= { count: 0, ms: 0, retries: 0 });
      sum.count += a.count;
      sum.ms += a.ms;
      sum.retries += a.retries;
    }
  }
  const trainedFrom = Math.min(...spans.map((s) => s.started));
  const trainedTo = Math.max(...spans.map((s) => s.closed));

  // None lost: every job deployed as its own version, its entries in the ledger, the chain whole.
  const versions = new Set(deployed.map((job) => job.ratchet.deployed.version));
  const registered = (await request('GET', '/v1/models/iris/versions', key)).data.length;
  const missing: string[] = [];
  for (const id of ids) {
    const { data } = await request('GET', `/v1/audit/entries?subject=${id}&limit=100`, key);
    const actions = data.map((entry: { action: string }) => entry.action).join(',');
    if (actions !== DEPLOYED_JOB_ACTIONS.join(',')) missing.push(`${id}: ${actions}`);
  }
  const verified = await request('GET', '/v1/audit/verify', key);

  const minutes = (ms: number) => ms / 60_000;
  const load = (averages: number[]) => averages.map((l) => l.toFixed(2)).join(' ');
  console.log(
    `machine: ${os.cpus().length} cores, load average ${load(loadAtStart)} at the start, ${load(os.loadavg())} at the end`,
  );
  console.log(`jobs: ${jobs} submitted at once; ${gated.length} awaited approval, ${deployed.length} deployed`);
  console.log(
    `queue wait (created -> training started on gpu): ${spread(spans.map((s) => s.started - s.workflowStarted))}`,
  );
  console.log(
    `  of which waiting on the gpu queue (scheduled -> started): ${spread(spans.map((s) => s.started - s.scheduled))}`,
  );
  const activityLine = Object.entries(activities).map(
    ([type, a]) => `${type} ${a.count}× ${(a.ms / 1000).toFixed(1)} s${a.retries ? ` (${a.retries} retries)` : ''}`,
  );
  console.log(`activities of all jobs, run time summed: ${activityLine.join('; ')}`);
  console.log(`  waiting for a worker, summed (scheduled -> started): ${(scheduleToStartMs / 1000).toFixed(1)} s`);
  console.log(`training (started -> completed): ${spread(spans.map((s) => s.closed - s.started))}`);
  console.log(
    `gpu worker busy: ${((100 * spans.reduce((sum, s) => sum + s.closed - s.started, 0)) / (trainedTo - trainedFrom)).toFixed(0)} % of the ${((trainedTo - trainedFrom) / 1000).toFixed(1)} s from the first training start to the last end`,
  );
  console.log(
    `wall: all ${jobs} awaiting approval ${((lastGated - t0) / 1000).toFixed(1)} s after submission (${(jobs / minutes(lastGated - t0)).toFixed(1)} jobs/min); all deployed ${((lastDeployed - approvedAt) / 1000).toFixed(1)} s after approval`,
  );
  console.log(
    `API answers 503 retried (submission, polls, approvals): ${retried503}; none lost: ${versions.size} distinct versions deployed, ${registered} registered; ${jobs - missing.length} of ${jobs} jobs with all ${DEPLOYED_JOB_ACTIONS.length} ledger entries; verify ok=${verified.ok}, ${verified.entries} entries`,
  );
  for (const line of missing) console.log(`  entries differ: ${line}`);
  console.log(
    '| GET job status | requests/s | p50 | p90 | p99 | requests | non-2xx (wrk) | socket errors | by replica (API /metrics) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of reads) {
    const byReplica = r.byReplica.map((counts) => json(counts)).join(' ');
    console.log(
      `| ${r.name} | ${r.perSecond} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.requests} | ${r.non2xx} | ${r.socketErrors} | ${byReplica} |`,
    );
  }
  if (versions.size !== jobs || registered !== jobs || missing.length || !verified.ok) process.exitCode = 1;
} finally {
  await ratchet.stopAll();
  await connection.close();
  await stack.stop();
}
