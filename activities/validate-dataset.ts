import { ApplicationFailure, Context } from '@temporalio/activity';
import { InvalidValidationInput } from '../governance/dataset/policy.ts';
import { validateDataset, type ValidationReport } from '../governance/dataset/validate.ts';
import type { DatasetFile } from '../governance/dataset/findings.ts';
import {
  InvalidObjectKey,
  ObjectNotFound,
  objectKey,
  parseObjectKey,
  type ObjectKey,
  type ObjectStore,
} from '../core/object-store.ts';
import type { ValidateDatasetInput, ValidateDatasetResult, ValidationSummary } from '../core/jobs/stages.ts';

// Streams the dataset objects from S3 through the engine's validator and stores the report next to the job.

export function createValidateDataset(store: ObjectStore) {
  return async function validateDatasetActivity(input: ValidateDatasetInput): Promise<ValidateDatasetResult> {
    const context = Context.current();
    try {
      const keys = datasetKeys(input);
      const reportKey = objectKey('reports', jobId(context), 'validation.json');
      let totalBytes = 0;
      for (const key of Object.values(keys)) totalBytes += (await store.head(key)).bytes;

      const sources: Partial<Record<DatasetFile, AsyncIterable<Uint8Array>>> = {};
      for (const [file, key] of Object.entries(keys) as [DatasetFile, ObjectKey][]) {
        sources[file] = lazyStream(() => store.getStream(key, context.cancellationSignal));
      }
      const report = await validateDataset(
        { ...sources, train: sources.train! },
        {
          policy: input.policy,
          manifest: input.manifest,
          onProgress: (bytesRead) => context.heartbeat({ bytesRead, totalBytes }),
          expectedBytes: totalBytes,
        },
      );
      await store.putJson(reportKey, report);
      // policy.mislabels 'drop': the training file less the flagged lines, for the train stage to read instead.
      const dropped = report.passed ? report.drop?.train : undefined;
      if (dropped && dropped.length > 0) {
        const cleanedTrainKey = objectKey('reports', jobId(context), 'train.cleaned.jsonl');
        await store.put(cleanedTrainKey, await withoutLines(store, keys.train, dropped, context.cancellationSignal));
        return {
          reportKey,
          passed: true,
          summary: summarise(report),
          cleanedTrainKey,
          droppedRows: dropped.length,
          droppedLines: dropped,
        };
      }
      return { reportKey, passed: report.passed, summary: summarise(report) };
    } catch (error) {
      // Retrying cannot fix these; the failure's type is the error's name (the workflow lists them as non-retryable).
      if (
        error instanceof InvalidObjectKey ||
        error instanceof ObjectNotFound ||
        error instanceof InvalidValidationInput
      ) {
        throw ApplicationFailure.nonRetryable(error.message, error.name);
      }
      throw error;
    }
  };
}

/** Reports live under the id of the workflow (the job) that asked for them, so a retried attempt overwrites its own. */
function jobId(context: Context): string {
  const workflowId = context.info.workflowExecution?.workflowId;
  if (!workflowId)
    throw new InvalidObjectKey('validateDataset runs inside a workflow: its report key is the workflow id');
  return workflowId;
}

// `input` comes from a workflow's caller: a null input must be a clear non-retryable failure, not a TypeError.
function datasetKeys(
  input: ValidateDatasetInput | null,
): Partial<Record<DatasetFile, ObjectKey>> & { train: ObjectKey } {
  if (typeof input !== 'object' || input === null) throw new InvalidObjectKey('the input needs at least a trainKey');
  return {
    train: parseObjectKey(input.trainKey),
    ...(input.evalKey !== undefined ? { eval: parseObjectKey(input.evalKey) } : {}),
    ...(input.oodKey !== undefined ? { ood: parseObjectKey(input.oodKey) } : {}),
  };
}

/** The object's bytes less the 1-based lines `dropped` (lines as the validator counts them: split at '\n'). */
async function withoutLines(
  store: ObjectStore,
  key: ObjectKey,
  dropped: number[],
  signal: AbortSignal,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of await store.getStream(key, signal)) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  const drop = new Set(dropped);
  const kept: Uint8Array[] = [];
  let start = 0;
  for (let line = 1; start < bytes.length; line++) {
    const end = bytes.indexOf(0x0a, start);
    const next = end < 0 ? bytes.length : end + 1;
    if (!drop.has(line)) kept.push(bytes.subarray(start, next));
    start = next;
  }
  return Buffer.concat(kept);
}

/** Opens the download only when the validator reaches the file, so one connection is open at a time. */
async function* lazyStream(open: () => Promise<AsyncIterable<Uint8Array>>): AsyncGenerator<Uint8Array> {
  yield* await open();
}

function summarise(report: ValidationReport): ValidationSummary {
  const blocking = report.findings.filter((f) => f.severity === 'blocking');
  return {
    blocking: blocking.length,
    warnings: report.findings.length - blocking.length,
    blockingCodes: [...new Set(blocking.map((f) => f.code))],
    records: Object.fromEntries(Object.entries(report.files).map(([file, stats]) => [file, stats.records])),
  };
}
