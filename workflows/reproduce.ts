import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import type { ReproduceInput } from '../activities/reproduce.ts';
import type { ReproduceReport } from '../core/reproduction.ts';
import { trainingOptions } from './activity-options.ts';

// `reproduceModel`: one activity on the training queue re-runs a registry version's training from its lineage
// (activities/reproduce.ts). A missing version or an imported one fails at once; a dead worker's attempt is retried.

export type ReproduceModelInput = { model: string; version: number; trainingTaskQueue: string };

export async function reproduceModel(input: ReproduceModelInput): Promise<ReproduceReport> {
  const { reproduceModel: run } = proxyActivities<Pick<Activities, 'reproduceModel'>>(
    trainingOptions(input.trainingTaskQueue, {
      maximumAttempts: 3,
      nonRetryableErrorTypes: ['RegistryError', 'InvalidRegistryInput', 'NotReproducible'],
    }),
  );
  const args: ReproduceInput = { model: input.model, version: input.version, id: workflowInfo().workflowId };
  return run(args);
}
