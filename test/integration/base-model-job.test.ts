// The ratchet loop on text: job 1 trains a fastText spam filter from scratch and deploys it; job 2 fine-tunes
// whatever is in production on mail from a later period, is scored against that production version, and its
// registered version's lineage and card name the base version and its sha256, and each model's OOD AUROC is measured
// on a text OOD file. A base the registry does not hold, labels the base's head does not know, a production model
// that cannot read the eval file and a text teacher for an MLP student each fail the job at once (one attempt), and
// a retried attempt trains from the version its first attempt resolved. Real Temporal, S3 and ORT; a few hundred
// emails, so each job trains in seconds.
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { loadBaseModel } from '../../core/base-model.ts';
import { Rng } from '../../engine/data/index.ts';
import type { FastTextArch } from '../../engine/models/text.ts';
import { spamAssassin, textJsonl, type SpamAssassinGroup, type TextRecord } from '../../infra/demo/spam-assassin.ts';
import { approveUpdate, type FineTuneJobInput } from '../../workflows/job-types.ts';
import { fineTuneJob } from '../../workflows/fine-tune-job.ts';
import { distillationSchema } from '../../core/jobs/spec.ts';
import { gibberishJsonl } from '../helpers/gibberish.ts';
import { temporalClient } from '../helpers/stack.ts';
import {
  approver,
  jobInput,
  ledger,
  put,
  putIris,
  queuesFor,
  recordHistory,
  registry,
  store,
  training,
  uniqueModel,
  waitForState,
  withJobWorkers,
  manualLineage,
} from './job-harness.ts';

const queues = queuesFor('base-model');
const prefix = `datasets/base-model-test-${randomUUID()}`;

/**
 * 300 training and 150 eval emails of two groups, shuffled, with no text (after normalising) in both files; `label`
 * renames their labels.
 */
async function putEmails(name: string, groups: SpamAssassinGroup[], label = (l: string) => l) {
  const seen = new Set<string>();
  const distinct = spamAssassin(groups).filter((r) => {
    const key = r.text.toLowerCase().replace(/[^a-z0-9]+/g, ' ');
    return !seen.has(key) && seen.add(key);
  });
  const order = Rng.fromSeed(3).permutation(distinct.length);
  const pick = (from: number, to: number): TextRecord[] =>
    Array.from(order.subarray(from, to), (i) => ({ ...distinct[i], label: label(distinct[i].label) }));
  return {
    trainKey: await put(`${prefix}/${name}/train.jsonl`, textJsonl(pick(0, 300))),
    evalKey: await put(`${prefix}/${name}/eval.jsonl`, textJsonl(pick(300, 450))),
  };
}

const fastText: FastTextArch = {
  kind: 'fasttext',
  buckets: 4096,
  dim: 16,
  wordNgrams: 1,
  charNgrams: [0, 0],
  maxLength: 128,
};

/** A spam-filter job: fastText from scratch, or (with `base`) fine-tuning a registry version. */
function emailJob(
  model: string,
  dataset: { trainKey: string; evalKey: string; oodKey?: string },
  spec: Pick<FineTuneJobInput['training'], 'text' | 'base'>,
): FineTuneJobInput {
  return jobInput(model, dataset, {
    dataset: { ...dataset, manifest: { name: 'spam-assassin', licence: 'Apache-2.0' } },
    training: {
      ...training,
      hidden: [],
      ...spec,
      config: { ...training.config, batchSize: 32, maxSteps: undefined, epochs: 4, lr: 0.02, checkpointEvery: 20 },
    },
    // Emails hold addresses: the PII finding is expected here and is not what this test is about.
    policy: { minAccuracy: 0.8, allowedLicences: ['Apache-2.0'], blockOnPii: false, approvalTimeout: '10m' },
    intendedUse: 'Spam or ham from an email subject and body (test fixture)',
    limitations: ['SpamAssassin public corpus, 2002-2003'],
  });
}

async function start(name: string, input: FineTuneJobInput) {
  const client = await temporalClient();
  return client.workflow.start(fineTuneJob, {
    taskQueue: queues.cpu,
    workflowId: `${name}-${randomUUID()}`,
    args: [{ ...input, trainingTaskQueue: queues.gpu }],
  });
}

/** Approves the job waiting for sign-off and returns its version once deployed. */
async function approveAndDeploy(handle: Awaited<ReturnType<typeof start>>) {
  const waiting = await waitForState(handle, 'awaiting_approval');
  await handle.executeUpdate(approveUpdate, { args: [{ identity: approver, reason: 'spam filter beats the bar' }] });
  const result = await handle.result();
  expect(result.state).toBe('deployed');
  return { waiting, version: result.deployed!.version };
}

/** The error of a job that failed with every activity on its first attempt (nothing was retried). */
async function failedOnce(handle: Awaited<ReturnType<typeof start>>): Promise<string | undefined> {
  expect(await handle.result().catch((error: unknown) => error)).toBeInstanceOf(WorkflowFailedError);
  const status = await waitForState(handle, 'failed');
  const attempts = (await handle.fetchHistory())
    .events!.filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
  expect(Math.max(...attempts)).toBe(1);
  return status.error;
}

describe('fine-tuning from a base model', () => {
  it('trains a text model, deploys it, then fine-tunes production on newer mail with lineage to it', async () => {
    await withJobWorkers(queues.prefix, async () => {
      const model = uniqueModel('spam-filter');
      const first = await start(
        'text-scratch',
        emailJob(model, await putEmails('first', ['easy-ham-1', 'spam-1']), { text: fastText }),
      );
      const one = await approveAndDeploy(first);
      expect(one.version).toBe(1);
      expect(one.waiting.evaluation!.candidate.metrics.accuracy).toBeGreaterThanOrEqual(0.8);
      expect(one.waiting.evaluation!.candidate.latency.p95_ms).toBeGreaterThan(0);
      expect(one.waiting.training!.baseModel).toBeUndefined();
      const v1 = await registry().getVersion(model, 1);
      expect(v1.record.base_model).toBeUndefined();
      expect(v1.record.hyperparameters).toMatchObject({ arch: 'fasttext', text: fastText });

      const later = await putEmails('later', ['easy-ham-2', 'spam-2']);
      // Text unlike any email: each model's OOD AUROC is measured through its own text encoding.
      const oodKey = await put(`${prefix}/later/ood.jsonl`, gibberishJsonl(100, 5));
      const second = await start(
        'text-base',
        emailJob(model, { ...later, oodKey }, { base: { model, alias: 'production' } }),
      );
      const two = await approveAndDeploy(second);
      expect(two.version).toBe(2);
      const base = { name: model, version: 1, sha256: v1.record.artifacts['model.onnx'] };
      expect(two.waiting.training!.baseModel).toEqual(base);
      // Both scored on job 2's eval file, each through its own saved text encoding.
      const { candidate, production } = two.waiting.evaluation!;
      expect(production!.version).toBe(1);
      expect(production!.evaluation.metrics.accuracy).toBeGreaterThan(0.5);
      expect(production!.evaluation.latency.p95_ms).toBeGreaterThan(0);
      expect(candidate.metrics.accuracy).toBeGreaterThanOrEqual(0.8);
      expect(candidate.metrics.ood_auroc).toBeGreaterThan(0.7);
      expect(production!.evaluation.metrics.ood_auroc).toBeGreaterThan(0.7);
      // The text perturbation suite, through each model's own encoding, and the row-by-row comparison on 150 rows.
      for (const { robustness } of [candidate, production!.evaluation]) {
        expect(Object.keys(robustness!)).toEqual(['typos', 'case', 'whitespace_punctuation', 'word_drop']);
      }
      expect(two.waiting.evaluation!.comparison).toMatchObject({ rows: 150, churn: { rows: 150 } });

      const v2 = await registry().getVersion(model, 2);
      expect(v2.record.base_model).toEqual(base);
      expect(v2.record.hyperparameters).toMatchObject({ arch: 'base' });
      const card = await registry().getCard(model, 2);
      expect(card.markdown).toContain(base.sha256);
      expect((card.json as { training: { base_model: unknown } }).training.base_model).toEqual(base);
      const trained = (await ledger().list('default', { subject: second.workflowId })).find(
        (e) => e.action === 'model.trained',
      );
      expect(trained!.inputs).toMatchObject({ base_model: base.sha256 });
      await recordHistory('base-model', second);

      // A version the registry does not hold: the job fails once, naming it, without retrying the training.
      const missing = await start('text-base-missing', emailJob(model, later, { base: { model, version: 9 } }));
      expect(await failedOnce(missing)).toBe(`model '${model}' has no version 9`);

      // Text data without a text architecture or base: the job says what to give instead of a parser complaint.
      const plain = await start('text-no-arch', emailJob(uniqueModel('no-arch'), later, {}));
      expect(await failedOnce(plain)).toMatch(/^the training data is text .*give training.text/);

      // Labels the base model's head does not know, with method full: the engine's InvalidInput fails the job at
      // its first training attempt, with the engine's message.
      const renamed = await putEmails('renamed', ['easy-ham-2', 'spam-2'], (l) => `mail-${l}`);
      const relabelled = await start(
        'text-base-labels',
        emailJob(model, renamed, { base: { model, alias: 'production' } }),
      );
      expect(await failedOnce(relabelled)).toMatch(
        /^label "mail-(ham|spam)", "mail-(ham|spam)" is unknown to the base model's head \("ham", "spam"\); use --method head/,
      );

      // A tabular candidate for a model whose production version reads text: the evaluation fails at once, naming it.
      const iris = await start('iris-vs-text', jobInput(model, await putIris(`${prefix}/iris`)));
      expect(await failedOnce(iris)).toBe(
        'production version 2: eval:1: "text" must be a string, got missing (this looks like feature data, not text)',
      );

      // An MLP student cannot learn from a text teacher: final at the first attempt.
      const distilled = await start('text-distill', {
        ...emailJob(uniqueModel('text-distill'), later, { text: fastText }),
        distillation: distillationSchema.parse({ student: { hidden: [8] } }),
      });
      expect(await failedOnce(distilled)).toMatch(/^the teacher takes text, so the student does too/);

      // A fastText student learns from it, from the same raw texts, and is the candidate sent for sign-off.
      const compact = await start('text-distill-fasttext', {
        ...emailJob(uniqueModel('text-distill'), later, { text: fastText }),
        distillation: distillationSchema.parse({
          student: { fasttext: { buckets: 512, dim: 8, wordNgrams: 1, charNgrams: [0, 0], maxLength: 128 } },
          config: { epochs: 8, lr: 0.05 },
        }),
      });
      const student = (await waitForState(compact, 'awaiting_approval')).distillation!;
      expect(student.student.parameters).toBeLessThan(student.teacher.parameters / 10);
      expect(student.student.accuracy).toBeGreaterThan(0.8);
      expect(student.settings.student).toEqual({ fasttext: expect.objectContaining({ buckets: 512, dim: 8 }) });
    });
  }, 180_000);

  it("pins what an alias resolved to for the job's later attempts, even after production moved", async () => {
    const model = uniqueModel('pinned');
    const lineage = manualLineage;
    const release = async (job: string, bytes: number[]) => {
      const artifacts = { model: new Uint8Array(bytes), metrics: {}, card: { markdown: '#', json: {} } };
      const version = await registry().registerVersion(model, artifacts, { ...lineage, job_id: job });
      await registry().promote(model, version, { actor: 'ada', at: lineage.created });
      return version;
    };
    await release('first', [1, 2, 3]);
    const jobId = `pinned-${randomUUID()}`;
    const ref = { model, alias: 'production' } as const;
    const attempt1 = await loadBaseModel(store(), jobId, ref);
    expect(attempt1.resolved).toMatchObject({ name: model, version: 1 });
    expect(await release('second', [4, 5, 6])).toBe(2);
    const attempt2 = await loadBaseModel(store(), jobId, ref);
    expect(attempt2.resolved).toEqual(attempt1.resolved);
    expect([...attempt2.bytes]).toEqual([1, 2, 3]);
    // Another job resolves the alias afresh.
    expect((await loadBaseModel(store(), `other-${randomUUID()}`, ref)).resolved.version).toBe(2);
  });
});
