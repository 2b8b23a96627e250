// Every activity the workers register. Activities are built from their dependencies (not module globals) so that
// a test can hand them a client for the harness's S3 server and the dev stack one for its own.
import type { S3Client } from '@aws-sdk/client-s3';
import type { ExecutionProvider } from '../engine/runtime/index.ts';
import { createDeploy } from './deploy.ts';
import { createDistill } from './distill.ts';
import { createEvaluate } from './evaluate.ts';
import { createGate } from './gate.ts';
import { createLedgerActivities } from './ledger.ts';
import { createResolveNewestDataset } from './newest-dataset.ts';
import { ObjectStore } from '../core/object-store.ts';
import type { Resolver } from '../core/webhooks/destination.ts';
import { createReproduce } from './reproduce.ts';
import { createTrain } from './train.ts';
import { createValidateDataset } from './validate-dataset.ts';
import { createWebhookActivities, notifyWebhook } from './webhook.ts';

export type ActivityDeps = {
  s3: S3Client;
  bucket: string;
  /** Where training runs; `auto` takes CUDA when the worker has it and records the CPU fallback otherwise. */
  ep?: ExecutionProvider | 'auto';
  /** How webhook hosts are resolved; default the system resolver (node:dns lookup). */
  resolveWebhookHost?: Resolver;
  /** The task queue of the ledger writers (with the deployment's queue prefix); default `ledger`. */
  ledgerQueue?: string;
};

export function createActivities(deps: ActivityDeps) {
  const store = new ObjectStore(deps.s3, deps.bucket);
  const distill = createDistill(store, deps.ep ?? 'auto');
  return {
    validateDataset: createValidateDataset(store),
    resolveNewestDataset: createResolveNewestDataset(store),
    train: createTrain(store, deps.ep ?? 'auto'),
    distill,
    // `distill` under the type name it had before the stage took one spelling: jobs whose history scheduled it so
    // call it so until they end (workflows/fine-tune-job.ts, patch 'distill-activity'). Remove it once none runs,
    // and make the patch deprecatePatch.
    distil: distill,
    evaluate: createEvaluate(store),
    gateCandidate: createGate(store),
    deploy: createDeploy(store),
    reproduceModel: createReproduce(store),
    notifyWebhook,
    ...createWebhookActivities(store, { resolve: deps.resolveWebhookHost }),
    ...createLedgerActivities(store, deps.ledgerQueue),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/** Training, distillation and reproductions run on the `gpu` task queue, the ledger writers' two on `ledger`, the rest on `cpu`. */
export function activitiesByQueue(activities: Activities) {
  const { train, distill, distil, reproduceModel, readLedgerHead, appendLedgerEntriesAfter, ...cpu } = activities;
  return { gpu: { train, distill, distil, reproduceModel }, ledger: { readLedgerHead, appendLedgerEntriesAfter }, cpu };
}
