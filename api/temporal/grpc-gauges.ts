// Gauges read from Temporal when /metrics is scraped: jobs by state, from visibility's counts by the RatchetStatus
// search attribute, and each task queue's backlog, from DescribeTaskQueue's stats (the server's approximate count
// and age of tasks waiting for a worker; Temporal 1.27+ reports them in the default mode, no enhanced mode needed).
// They are the cluster's, not this process's, so any API replica serves the same figures.
//
// Visibility on SQL (the dev server's SQLite, PostgreSQL) groups counts by ExecutionStatus only, so it is one count
// per state, all at once; with one call per queue and task type, a scrape costs 14 + 6 small reads. A scrape within
// CACHE_MS of the last one reuses its answer, so several Prometheus replicas do not multiply that.
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { JOB_STATES } from '../../core/jobs/states.ts';
import { Gauge, type Metric } from '../../core/metrics/registry.ts';
import type { TaskQueues } from './jobs.ts';
import type { GaugeSource } from './services.ts';

// A CommonJS package: Node's ESM loader sees only its default export.
const { TaskQueueType } = proto.temporal.api.enums.v1;

const CACHE_MS = 5_000;
const TASK_TYPES = [
  ['workflow', TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW],
  ['activity', TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY],
] as const;

export function grpcGauges(client: Client, queues: TaskQueues): GaugeSource {
  const namespace = client.options.namespace;
  const service = client.workflowService;
  const taskQueues = [...new Set([queues.jobs, queues.training, queues.ledger ?? 'ledger'])];

  async function read(): Promise<Metric[]> {
    const jobs = new Gauge(
      'ratchet_jobs',
      'Fine-tuning jobs by state (RatchetStatus), as Temporal visibility counts them.',
    );
    const backlog = new Gauge(
      'ratchet_task_queue_backlog',
      "Tasks waiting for a worker, by task queue and type (the server's approximate count).",
    );
    const age = new Gauge(
      'ratchet_task_queue_backlog_age_seconds',
      'How long the oldest waiting task has waited, by task queue and type (approximate).',
    );
    // Read at once, set in a fixed order, so the exposition lists the series alike on every scrape.
    const counts = Promise.all(
      JOB_STATES.map(async (state) => {
        const query = `WorkflowType = 'fineTuneJob' AND RatchetStatus = '${state}'`;
        const { count } = await service.countWorkflowExecutions({ namespace, query });
        return { state, count: Number(count ?? 0) };
      }),
    );
    const stats = Promise.all(
      taskQueues.flatMap((name) =>
        TASK_TYPES.map(async ([type, taskQueueType]) => {
          const request = { namespace, taskQueue: { name }, taskQueueType, reportStats: true };
          const { stats } = await service.describeTaskQueue(request);
          const waited = stats?.approximateBacklogAge;
          return {
            labels: { task_queue: name, type },
            count: Number(stats?.approximateBacklogCount ?? 0),
            seconds: Number(waited?.seconds ?? 0) + (waited?.nanos ?? 0) / 1e9,
          };
        }),
      ),
    );
    const [stateCounts, queueStats] = await Promise.all([counts, stats]);
    for (const { state, count } of stateCounts) jobs.set({ state }, count);
    for (const { labels, count, seconds } of queueStats) {
      backlog.set(labels, count);
      age.set(labels, seconds);
    }
    return [jobs, backlog, age];
  }

  let last: { at: number; metrics: Promise<Metric[]> } | undefined;
  return () => {
    if (!last || performance.now() - last.at > CACHE_MS) {
      last = { at: performance.now(), metrics: read() };
      // A failed read is not kept: the next scrape tries again.
      last.metrics.catch(() => (last = undefined));
    }
    return last.metrics;
  };
}
