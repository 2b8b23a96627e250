// A job with the optional distillation stage, through the API over real HTTP with a worker running the real
// `fineTuneJob` on Iris: the trained model teaches a smaller MLP student, and the student is the candidate that is
// evaluated, gated, signed off and deployed, with the teacher's metrics and sha256 beside it. A cancel while the
// student trains (on the production workers, distill on the `gpu` queue) ends the job cancelled. Bad temperature or
// alpha are refused at the edge, naming the field.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parameterCount } from '../../engine/distill/job.ts';
import { importClassifier } from '../../engine/models/base.ts';
import { parseObjectKey } from '../../core/object-store.ts';
import { scoped } from '../../api/tenancy.ts';
import { fineTuneJob } from '../../workflows/fine-tune-job.ts';
import { jobStatusQuery } from '../../workflows/job-types.ts';
import { temporalClient } from '../helpers/stack.ts';
import { call } from './api-harness.ts';
import { irisJobBody, untilStatus, useIrisStack } from './iris-job.ts';
import {
  jobInput,
  ledger,
  ledgerActions,
  putIris,
  queuesFor,
  recordHistory,
  registry,
  store,
  uniqueModel,
  waitForState,
  withJobWorkers,
  cancelAndExpectCancelled,
} from './job-harness.ts';
import { distillationSchema } from '../../core/jobs/spec.ts';

const stack = useIrisStack('distill-job');

// Half the teacher's weights (67 vs 131); these settings reach the gate's 0.8 on Iris across seeds.
const distillation = distillationSchema.parse({
  temperature: 2,
  alpha: 0.6,
  student: { hidden: [8] },
  config: { maxSteps: 600, batchSize: 16, lr: 0.01 },
});

const create = async (body: unknown) => {
  const reply = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', { key: stack.keys.submitter, json: body });
  if (reply.status !== 201) throw new Error(`create failed: ${reply.status} ${reply.text}`);
  return reply.body.id as string;
};

const weightsOf = async (key: string) =>
  parameterCount(importClassifier((await store().get(parseObjectKey(key))).bytes, key).model);

describe('fineTuneJob with distillation', () => {
  it('deploys the student: fewer weights than the teacher, distilled from its sha256, teacher metrics in the status', async () => {
    const id = await create({ ...irisJobBody(stack, 'iris-distill'), distillation });
    const waiting = (await untilStatus(stack, id, ['awaiting_approval'])).body.ratchet;
    expect(waiting.transitions.map((t: { state: string }) => t.state)).toEqual([
      'validating',
      'training',
      'distilling',
      'evaluating',
      'gating',
      'awaiting_approval',
    ]);
    const handle = (await temporalClient()).workflow.getHandle(id);
    const status = await handle.query(jobStatusQuery);
    const { training, distillation: distilled } = status;

    // The teacher is the trained model; both scored on the eval file and shown side by side.
    expect(distilled!.teacherSha256).toBe(training!.modelSha256);
    expect(waiting.distillation).toEqual({
      steps: distillation.config.maxSteps,
      model_sha256: distilled!.modelSha256,
      teacher_sha256: training!.modelSha256,
      student: distilled!.student,
      teacher: distilled!.teacher,
    });
    expect(waiting.distillation.teacher.accuracy).toBeGreaterThanOrEqual(0.8);
    expect(waiting.distillation.student.parameters).toBeLessThan(waiting.distillation.teacher.parameters);
    // The weights counted in the stored files agree with what the status says.
    expect(await weightsOf(distilled!.modelKey)).toBe(distilled!.student.parameters);
    expect(await weightsOf(training!.modelKey)).toBe(distilled!.teacher.parameters);
    expect(distilled!.modelKey).toBe(`jobs/${id}/student/model.onnx`);
    // The candidate evaluated and gated is the student.
    expect(waiting.evaluation.candidate.metrics.accuracy).toBeCloseTo(distilled!.student.accuracy, 6);
    expect(waiting.gate.passed).toBe(true);

    const approved = await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: stack.keys.approver,
      json: { reason: 'the student holds the bar at half the size' },
    });
    expect(approved.status).toBe(200);
    const done = (await untilStatus(stack, id, ['deployed'])).body;
    expect(done.ratchet.deployed).toMatchObject({ version: 1 });
    expect(done.fine_tuned_model).toBe('iris-distill:1');

    const model = scoped(stack.tenant, 'iris-distill');
    const version = await registry().getVersion(model, 1);
    expect(version.record.artifacts['model.onnx']).toBe(distilled!.modelSha256);
    expect(await weightsOf(version.keys['model.onnx'])).toBeLessThan(distilled!.teacher.parameters);
    expect(version.record).toMatchObject({
      method: 'distill',
      datasets: distilled!.datasets,
      hyperparameters: {
        teacher_sha256: training!.modelSha256,
        temperature: 2,
        alpha: 0.6,
        student: { hidden: [8] },
      },
    });
    const card = await registry().getCard(model, 1);
    expect(card.markdown).toContain(`Distilled from the teacher \`${training!.modelSha256}\``);
    expect(card.json).toMatchObject({
      training: { method: 'distill' },
      distillation: { teacher_sha256: training!.modelSha256, teacher: distilled!.teacher, student: distilled!.student },
    });

    const entries = await ledger().list(stack.tenant, { subject: id });
    expect(entries.map((e) => e.action)).toEqual([
      'job.submitted',
      'dataset.validated',
      'model.trained',
      'model.distilled',
      'model.evaluated',
      'gate.passed',
      'job.approved',
      'model.deployed',
    ]);
    const distilledEntry = entries.find((e) => e.action === 'model.distilled')!;
    expect(distilledEntry.inputs.teacher).toBe(training!.modelSha256);
    expect(distilledEntry.outputs.model).toBe(distilled!.modelSha256);
    expect(entries.at(-1)!.outputs.model).toBe(distilled!.modelSha256);
    await recordHistory('distilled', handle);
  });

  it('a cancel while the student trains ends the job cancelled at the distilling stage (production workers)', async () => {
    // infra/worker.ts's workers: the distill activity must be on the `gpu` queue's worker, beside train.
    const queues = queuesFor('distill-cancel');
    await withJobWorkers(queues.prefix, async () => {
      const dataset = await putIris(`datasets/distill-cancel-${randomUUID()}`);
      const long = { ...distillation, config: { ...distillation.config, maxSteps: 1_000_000 } };
      const handle = await (
        await temporalClient()
      ).workflow.start(fineTuneJob, {
        taskQueue: queues.cpu,
        workflowId: `distill-cancel-${randomUUID()}`,
        args: [
          {
            ...jobInput(uniqueModel('iris-distill-cancel'), dataset, { distillation: long }),
            trainingTaskQueue: queues.gpu,
          },
        ],
      });
      await waitForState(handle, 'distilling');
      // Cancel once the distill activity has heartbeated, i.e. mid-distillation.
      for (;;) {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        if (pending.some((a) => a.activityType?.name === 'distill' && (a.heartbeatDetails?.payloads?.length ?? 0) > 0))
          break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await cancelAndExpectCancelled(handle);
      const status = await handle.query(jobStatusQuery);
      expect(status.state).toBe('cancelled');
      expect(status.distillation).toBeUndefined();
      expect(await ledgerActions(handle.workflowId)).toEqual([
        'job.submitted',
        'dataset.validated',
        'model.trained',
        'job.cancelled',
      ]);
      const entries = await ledger().list('default', { subject: handle.workflowId });
      expect(entries.at(-1)!.details).toMatchObject({ stage: 'distilling' });
      // No student, only the checkpoint the cancelled distillation stored where it stopped.
      const left = await store().list(`jobs/${handle.workflowId}/student/`);
      const checkpoints = `jobs/${handle.workflowId}/student/checkpoints/`;
      expect(left.filter((key) => !key.startsWith(checkpoints))).toEqual([]);
      expect(left.filter((key) => key.endsWith('/state.json')).length).toBeGreaterThan(0);
    });
  });

  it('refuses a temperature or alpha out of range, naming the field', async () => {
    for (const [bad, path] of [
      [{ temperature: 0 }, 'body.distillation.temperature'],
      [{ temperature: -2 }, 'body.distillation.temperature'],
      [{ alpha: 1.5 }, 'body.distillation.alpha'],
      [{ alpha: -0.1 }, 'body.distillation.alpha'],
    ] as const) {
      const reply = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', {
        key: stack.keys.submitter,
        json: { ...irisJobBody(stack, 'iris-distill-bad'), distillation: { ...distillation, ...bad } },
      });
      expect(reply.status).toBe(400);
      expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
      expect(reply.body.error.param).toBe(path.replace(/^body\./, ''));
      expect(reply.body.error.errors.map((e: { path: string }) => e.path)).toEqual([path]);
    }
  });
});
