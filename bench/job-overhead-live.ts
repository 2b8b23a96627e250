// Orchestration overhead of deployed Iris jobs run here and now, on a stack of the bench's own (Temporal dev server
// and S3 server on loopback, the production workers for `cpu`, `gpu` and `ledger` in this process): each job is
// submitted, approved as soon as it awaits approval, and its history read as bench/job-overhead.ts reads one.
//
//   node --import tsx bench/job-overhead-live.ts [jobs=3] [baseline checkout]
//
// With a baseline checkout (another tree of this repository, e.g. `git worktree add /tmp/before <commit>` with a
// node_modules link), its workers (its workflows, activities and worker options) run beside this tree's, on queues
// and a ledger scope of their own, and the jobs alternate between the two: the before/after ratio comes from one run
// under one load. The first job of each side warms its worker up and is not counted.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import proto from '@temporalio/proto';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { irisJsonl, irisTraining } from '../test/helpers/iris.ts';
import { approveUpdate, jobStatusQuery, type FineTuneJobInput } from '../workflows/job-types.ts';
import { ledgerWriterId } from '../core/ledger/writer.ts';
import { Ledger } from '../core/ledger/ledger.ts';
import { ObjectStore } from '../core/object-store.ts';
import { overheadOf, printOverhead, writerSpansOf, type Overhead } from './job-overhead.ts';
import { startLocalStack } from './local-stack.ts';

type CreateWorkers = typeof import('../infra/worker.ts').createWorkers;

const [jobsArg = '3', baseline] = process.argv.slice(2);
const jobs = Number(jobsArg);
const say = (line: string) => console.error(`bench: ${line}`);
const loadAtStart = os.loadavg();
// Every job's history, for bench/job-overhead.ts or a closer look; in the form of the recorded ones
// (test/integration/job-harness.ts), which test/integration/replay.test.ts reads.
const historiesDir = mkdtempSync(path.join(os.tmpdir(), 'ratchet-overhead-histories-'));
const { History } = proto.temporal.api.history.v1;
Runtime.install({ logger: new DefaultLogger('WARN') });

const stack = await startLocalStack('overhead', say);
const connection = await NativeConnection.connect({ address: stack.temporalAddress });
const client = new Client({ connection: await Connection.connect({ address: stack.temporalAddress }) });

// A receiver for the job's deploy webhook, as in the happy-path test (one more activity and ledger entry).
const webhook = createServer((request, response) => request.resume().on('end', () => response.writeHead(204).end()));
await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;

const lines = irisJsonl().trimEnd().split('\n');
const put = async (key: string, evalRows: boolean) => {
  const body = lines.filter((_, i) => (i % 5 === 4) === evalRows).join('\n') + '\n';
  await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));
  return key;
};
const dataset = { trainKey: await put('bench/train.jsonl', false), evalKey: await put('bench/eval.jsonl', true) };

type Side = { name: string; prefix: string; scope: string; workers: Worker[]; running: Promise<unknown> };

async function startSide(name: string, tree: string): Promise<Side> {
  const { createWorkers } = (await import(path.resolve(tree, 'infra/worker.ts'))) as { createWorkers: CreateWorkers };
  const prefix = `${name}-${randomUUID().slice(0, 8)}-`;
  const workers = await createWorkers({
    connection,
    namespace: 'default',
    taskQueues: ['cpu', 'gpu'],
    queuePrefix: prefix,
    s3: stack.s3,
    bucket: stack.bucket,
  });
  return { name, prefix, scope: name, workers, running: Promise.all(workers.map((w) => w.run())) };
}

/** One deployed job on `side`: started, approved once it awaits approval, finished; its history. */
async function runJob(side: Side) {
  const input: FineTuneJobInput = {
    model: `iris-${side.name}`,
    submitter: { userId: 'sam', roles: ['submitter'] },
    dataset: { ...dataset, manifest: { name: 'iris', licence: 'CC-BY-4.0' } },
    training: irisTraining as unknown as FineTuneJobInput['training'],
    policy: { minAccuracy: 0.8, allowedLicences: ['CC-BY-4.0'], approvalTimeout: '10m' },
    intendedUse: 'bench',
    ledgerScope: side.scope,
    webhookUrl,
    trainingTaskQueue: `${side.prefix}gpu`,
  };
  const handle: WorkflowHandle = await client.workflow.start('fineTuneJob', {
    taskQueue: `${side.prefix}cpu`,
    workflowId: `overhead-${side.name}-${randomUUID()}`,
    args: [input],
  });
  while ((await handle.query(jobStatusQuery)).state !== 'awaiting_approval') {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await handle.executeUpdate(approveUpdate, {
    args: [{ identity: { userId: 'ada', roles: ['approver'] }, reason: 'bench' }],
  });
  const result = await handle.result();
  if (result.state !== 'deployed') throw new Error(`job ${handle.workflowId} ended ${result.state}`);
  const history = await handle.fetchHistory();
  writeFileSync(
    path.join(historiesDir, `${handle.workflowId}.json`),
    JSON.stringify(
      History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String }),
      null,
      1,
    ) + '\n',
  );
  return history.events!;
}

const sides = [await startSide('after', '.')];
if (baseline) sides.unshift(await startSide('before', baseline));
const measured = new Map<string, Overhead[]>(sides.map((s) => [s.name, []]));
try {
  for (const side of sides) await runJob(side); // warm-up: bundle loaded, first sandbox, writer started
  for (let round = 0; round < jobs; round++) {
    for (const side of sides) {
      const o = overheadOf(await runJob(side));
      measured.get(side.name)!.push(o);
      say(`${side.name} job ${round + 1}: wall ${o.wallMs.toFixed(0)} ms, overhead ${o.overheadMs.toFixed(0)} ms`);
    }
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(
    `${jobs} deployed Iris jobs per side, approved at once; load average at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (const side of sides) {
    const runs = measured.get(side.name)!;
    const mid = runs.find((o) => o.overheadMs === median(runs.map((r) => r.overheadMs)))!;
    console.log(
      `\n== ${side.name}: overhead per job ${runs.map((o) => o.overheadMs.toFixed(0)).join(', ')} ms (median ${mid.overheadMs.toFixed(0)}); the median job:`,
    );
    printOverhead(mid);
    const writer = await client.workflow.getHandle(ledgerWriterId(`${side.prefix}ledger`, side.scope)).fetchHistory();
    const spans = writerSpansOf(writer.events!);
    console.log(
      `  ledger writer, per append batch (${spans.batches} batches): update accepted -> answered ${(spans.updateMs / spans.batches).toFixed(0)} ms, of which its activity schedule-to-start ${(spans.scheduleToStartMs / spans.batches).toFixed(0)} ms, S3 write ${(spans.activityMs / spans.batches).toFixed(0)} ms`,
    );
    const verified = await new Ledger(new ObjectStore(stack.s3, stack.bucket)).verify(side.scope);
    if (!verified.ok) throw new Error(`ledger ${side.scope} does not verify`);
  }
  if (baseline) {
    const [before, after] = sides.map((s) => median(measured.get(s.name)!.map((o) => o.overheadMs)));
    console.log(
      `\noverhead, median per job: before ${before.toFixed(0)} ms, after ${after.toFixed(0)} ms (${(after / before).toFixed(2)}×)`,
    );
  }
  console.log(`\nhistories in ${historiesDir}`);
} finally {
  for (const side of sides) for (const worker of side.workers) worker.shutdown();
  await Promise.all(sides.map((s) => s.running));
  webhook.close();
  await connection.close();
  await client.connection.close();
  await stack.stop();
}
