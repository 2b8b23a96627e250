import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ObjectStore } from '../core/object-store.ts';
import { NotReproducible, reproduce } from '../core/reproduce.ts';
import { reproductionKey, type ReproduceReport } from '../core/reproduction.ts';
import { RegistryError } from '../core/registry/registry.ts';
import { InvalidRegistryInput } from '../core/registry/schema.ts';

// Reproduce a registry version on a worker (core/reproduce.ts): training belongs on the training queue, and a
// reproduction trains as long as the version's job did. Every step heartbeats (a dead worker is noticed, a cancel
// arrives); the report is kept in S3 under reproductions/<id>.json, where the API reads it.

export type ReproduceInput = { model: string; version: number; id: string };

export function createReproduce(store: ObjectStore) {
  return async function reproduceModel(input: ReproduceInput): Promise<ReproduceReport> {
    const context = Context.current();
    let report: ReproduceReport;
    try {
      report = await reproduce(store, input.model, input.version, {
        signal: context.cancellationSignal,
        onProgress: (stage, p) => context.heartbeat({ stage, step: p.step, totalSteps: p.totalSteps }),
      });
    } catch (error) {
      if (error instanceof RegistryError || error instanceof InvalidRegistryInput || error instanceof NotReproducible) {
        // Kept where the API reads the report, so a caller learns why.
        await store.putJson(reproductionKey(input.id), { error: error.message });
        throw ApplicationFailure.nonRetryable(error.message, error.name);
      }
      throw error;
    }
    await store.putJson(reproductionKey(input.id), report);
    return report;
  };
}
