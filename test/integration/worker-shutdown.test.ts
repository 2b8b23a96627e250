// A `cpu` worker serves the ledger queue too, so when it shuts down its own appends lose their writer: an
// `appendLedgerEntry` in flight then waits for a ledger writer task that no worker will poll. The activity must give
// up when the worker cancels it (the server retries the attempt on another worker), or the shutdown waits with it:
// `ratchet worker` on SIGTERM drained for ten minutes so (docs/PERFORMANCE.md, the 50-job bench).
import { randomUUID } from 'node:crypto';
import { NativeConnection } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { ledgerWriterId } from '../../core/ledger/writer.ts';
import { bundleWorkflows, createWorkers } from '../../infra/worker.ts';
import { s3Client, stack, temporalClient } from '../helpers/stack.ts';
import { jobInput, ledgerActions, putIris, queuesFor, startJob, uniqueModel, withJobWorkers } from './job-harness.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('worker shutdown', () => {
  it(
    'a cpu worker stops at once while an append waits on a ledger writer nobody serves',
    { timeout: 120_000 },
    async () => {
      const queues = queuesFor('worker-shutdown');
      const { temporalAddress, namespace, bucket } = stack();
      const connection = await NativeConnection.connect({ address: temporalAddress });
      const [cpu, ledger] = await createWorkers({
        connection,
        namespace,
        taskQueues: ['cpu'],
        queuePrefix: queues.prefix,
        s3: s3Client(),
        bucket,
        workflowBundle: bundleWorkflows(),
      });
      const cpuRun = cpu.run();
      await ledger.runUntil(sleep(200)); // the writers' queue then has no worker
      const client = await temporalClient();
      const handle = await startJob(
        'worker-shutdown',
        jobInput(uniqueModel('iris-shutdown'), await putIris(`datasets/worker-shutdown-${randomUUID()}`)),
        queues,
      );
      try {
        // The job's first append is running when its activity shows as started.
        for (let i = 0; i < 100; i++) {
          const { raw } = await handle.describe();
          if (raw.pendingActivities?.some((a) => a.activityType?.name === 'appendLedgerEntry' && a.state === 2)) break;
          await sleep(100);
        }
        const started = Date.now();
        cpu.shutdown();
        await cpuRun;
        expect(Date.now() - started).toBeLessThan(10_000);
        // Nothing is lost: the attempt failed, and the next workers append the entry.
        await withJobWorkers(queues.prefix, async () => {
          for (let i = 0; i < 300 && !(await ledgerActions(handle.workflowId)).includes('job.submitted'); i++) {
            await sleep(100);
          }
        });
        expect(await ledgerActions(handle.workflowId)).toContain('job.submitted');
      } finally {
        await handle.terminate('test over').catch(() => undefined);
        const writer = client.workflow.getHandle(ledgerWriterId(`${queues.prefix}ledger`, 'default'));
        await writer.terminate('test over').catch(() => undefined);
        await connection.close();
      }
    },
  );
});
