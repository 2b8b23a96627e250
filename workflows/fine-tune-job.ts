import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.ts';
import { outageRetry, trainingOptions, validationOptions } from './activity-options.ts';
import {
  approveUpdate,
  jobStatusQuery,
  modelAttribute,
  rejectUpdate,
  statusAttribute,
  statusMemoKey,
  submitterAttribute,
  type DecisionInput,
  type FineTuneJobInput,
  type FineTuneJobResult,
  type JobStatus,
  type PublishedStatus,
} from './job-types.ts';
import { evaluatedDetails } from './evaluated-entry.ts';
import type { TrainCancelled, TrainResult } from '../core/jobs/stages.ts';
import type { JobState } from '../core/jobs/states.ts';
import type { WebhookEvent, WebhookEventType } from '../core/webhooks/events.ts';

// The pipeline: validate -> train (task queue `gpu`) -> distill into a compact student (optional, `gpu`) ->
// evaluate against production -> policy gate and card -> human sign-off -> deploy. Every transition is a ledger
// entry; the ledger write is an activity and the time in it is the workflow's (deterministic on replay).

const { validateDataset } = proxyActivities<Pick<Activities, 'validateDataset'>>(validationOptions);

const { evaluate, gateCandidate, deploy } = proxyActivities<Pick<Activities, 'evaluate' | 'gateCandidate' | 'deploy'>>({
  startToCloseTimeout: '30 minutes',
  retry: {
    ...outageRetry,
    nonRetryableErrorTypes: [
      'InvalidGatePolicy',
      'InvalidObjectKey',
      'ObjectNotFound',
      'InvalidRegistryInput',
      'RegistryError',
    ],
  },
});

const { notifyWebhook } = proxyActivities<Pick<Activities, 'notifyWebhook'>>({
  startToCloseTimeout: '30 seconds',
  // A receiver that is down for a while still hears of the deploy; a bad URL is not retried.
  retry: { maximumAttempts: 10, maximumInterval: '5 minutes', nonRetryableErrorTypes: ['InvalidWebhook'] },
});

const { webhookEndpointsFor, deliverWebhook } = proxyActivities<
  Pick<Activities, 'webhookEndpointsFor' | 'deliverWebhook'>
>({
  startToCloseTimeout: '1 minute',
  // A receiver that is down hears of the event when it is back: 2 s, 4 s, ... 5 min apart, ten tries in all (about
  // 14 minutes). A refused destination, a redirect or a deleted endpoint stays so.
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['WebhookDestinationRefused', 'WebhookRedirected', 'WebhookEndpointGone'],
  },
});

const { appendLedgerEntry } = proxyActivities<Pick<Activities, 'appendLedgerEntry'>>({
  startToCloseTimeout: '1 minute',
  // An entry the ledger refuses is a bug in this workflow; anything else (S3 down) is worth waiting out.
  retry: { maximumInterval: '1 minute', nonRetryableErrorTypes: ['InvalidLedgerInput'] },
});

function trainingActivities(taskQueue: string) {
  // A dead worker's next attempt resumes from the last checkpoint the training stored.
  return proxyActivities<Pick<Activities, 'train'>>(trainingOptions(taskQueue));
}

function distillationActivities(taskQueue: string) {
  // A dead worker's next attempt resumes the student from the last checkpoint its training stored.
  return proxyActivities<Pick<Activities, 'distill' | 'distil'>>(
    trainingOptions(taskQueue, {
      nonRetryableErrorTypes: ['InvalidObjectKey', 'ObjectNotFound', 'InvalidDistillOption'],
    }),
  );
}

export async function fineTuneJob(input: FineTuneJobInput): Promise<FineTuneJobResult> {
  const { workflowId: jobId } = workflowInfo();
  const scope = input.ledgerScope ?? 'default';
  const submitter = input.submitter.userId;
  const status: JobStatus = { state: 'validating', model: input.model, submitter, transitions: [] };
  setHandler(jobStatusQuery, () => status);

  const now = () => new Date().toISOString();
  const entryOf = (action: string, actor: string, details: Record<string, unknown>, hashes = {}) => ({
    ts: now(),
    actor,
    action,
    subject: jobId,
    details,
    ...hashes,
  });
  const record = (...entry: Parameters<typeof entryOf>) => appendLedgerEntry({ scope, entry: entryOf(...entry) });
  // The job's own entries, in its order. Since this patch an entry is sent without holding up the next stage: its
  // append runs beside the stage, each after the job's entry before it (so the chain has them in the same order),
  // out of the cancellation's reach (an entry already sent is written before the job's last one). The job waits
  // for its entries where the record must be complete: before a person is asked to sign off, before it deploys, and
  // before it ends; an append that failed fails the job there. Without the marker each append is awaited in turn,
  // as the job recorded it.
  const appendsInBackground = patched('ledger-appends-in-background');
  let appended: Promise<unknown> = Promise.resolve();
  const note = (...args: Parameters<typeof entryOf>): Promise<unknown> => {
    if (!appendsInBackground) return record(...args);
    const entry = entryOf(...args);
    appended = appended.then(() => CancellationScope.nonCancellable(() => appendLedgerEntry({ scope, entry })));
    // Handled here so that it is no unhandled rejection; it is thrown where the job next waits for its entries.
    appended.catch(() => undefined);
    return Promise.resolve();
  };
  const allNoted = () => appended;
  // The status in the memo, for the API to read without a query (docs/API.md, "Job status"): published after
  // every change it shows. Jobs that started before it (no marker in their history) publish nothing, so their
  // histories replay as recorded; the API queries those.
  const publishesStatus = patched('status-memo');
  const publishStatus = () => {
    if (publishesStatus) upsertMemo({ [statusMemoKey]: publishedStatus(status) });
  };
  const enter = (state: JobState) => {
    status.state = state;
    status.transitions.push({ state, at: now() });
    upsertSearchAttributes([
      { key: statusAttribute, value: state },
      { key: modelAttribute, value: input.model },
      { key: submitterAttribute, value: submitter },
    ]);
    publishStatus();
  };
  // Signed events to the tenant's webhook endpoints (/v1/webhooks). Jobs that started before them (no marker in
  // their history) schedule none, so their histories replay as recorded.
  const signedEvents = patched('webhook-endpoints');
  const deliveries: Promise<void>[] = [];
  /** Sends the event in the background: the job goes on (its approval timer runs) while a receiver is retried. */
  const publish = (type: WebhookEventType, data: Record<string, unknown> = {}) => {
    if (!signedEvents) return;
    const event: WebhookEvent = {
      id: `evt_${uuid4().replaceAll('-', '')}`,
      object: 'event',
      type,
      created_at: Math.floor(Date.now() / 1000),
      data: { id: jobId, ...data },
    };
    // Not cancelled with the job: its `cancelled` event is sent after the cancel.
    deliveries.push(CancellationScope.nonCancellable(() => deliver(event)));
  };
  const deliver = async (event: WebhookEvent) => {
    const endpoints = await webhookEndpointsFor({ tenant: scope, type: event.type }).catch((error: unknown) => {
      // A delivery is recorded, never fatal: the job's outcome does not depend on a receiver.
      return record('webhook.failed', 'ratchet', { event: event.type, event_id: event.id, error: rootMessage(error) })
        .then(() => [] as string[])
        .catch(() => [] as string[]);
    });
    await Promise.all(
      endpoints.map(async (endpoint) => {
        const outcome = await deliverWebhook({ tenant: scope, endpoint, event }).then(
          ({ status: httpStatus, url }) => ({ delivered: true, httpStatus, url }),
          (error: unknown) => ({ delivered: false, error: rootMessage(error) }),
        );
        await record(outcome.delivered ? 'webhook.delivered' : 'webhook.failed', 'ratchet', {
          endpoint,
          event: event.type,
          event_id: event.id,
          ...outcome,
        }).catch(() => undefined);
      }),
    );
  };
  /** The events of a final state: OpenAI's succeeded, failed or cancelled, and Ratchet's deployed. */
  const publishEnd = (state: JobState) => {
    if (state === 'deployed') {
      publish('fine_tuning.job.succeeded');
      const version = status.deployed?.version;
      publish('fine_tuning.job.deployed', {
        fine_tuned_model: `${unscopedModel(input.model, scope)}:${version}`,
        version,
      });
    } else {
      const type = state === 'cancelled' ? 'fine_tuning.job.cancelled' : 'fine_tuning.job.failed';
      publish(type, { ratchet: { status: state } });
    }
  };

  const finish = async (state: JobState): Promise<FineTuneJobResult> => {
    await allNoted();
    enter(state);
    if (signedEvents) {
      // The job ends once its receivers have heard (or their retries ran out).
      publishEnd(state);
      await Promise.all(deliveries);
    }
    return { jobId, state, decision: status.decision, deployed: status.deployed, gate: status.gate };
  };

  for (const [update, action] of [
    [approveUpdate, 'approve'],
    [rejectUpdate, 'reject'],
  ] as const) {
    setHandler(
      update,
      ({ identity, reason }) => {
        status.decision = { action, by: identity.userId, reason, at: now() };
        // In the update's own workflow task: a read once the update has returned shows the decision.
        publishStatus();
        return status;
      },
      { validator: (decision) => checkDecision(status, decision, action) },
    );
  }

  enter('validating');
  try {
    await note('job.submitted', submitter, {
      model: input.model,
      trainKey: input.dataset.trainKey,
      evalKey: input.dataset.evalKey,
      ...(input.dataset.oodKey !== undefined ? { oodKey: input.dataset.oodKey } : {}),
      training: input.training,
      ...(input.distillation ? { distillation: input.distillation } : {}),
      policy: input.policy,
    });

    status.validation = await validateDataset({
      trainKey: input.dataset.trainKey,
      evalKey: input.dataset.evalKey,
      oodKey: input.dataset.oodKey,
      manifest: input.dataset.manifest,
      policy: input.dataset.validationPolicy,
    });
    publishStatus();
    const { passed, reportKey, summary, cleanedTrainKey, droppedLines } = status.validation;
    // Rows dropped as likely mislabelled are named in the entry: the ledger says which data the model never saw.
    const dropped = cleanedTrainKey ? { dropped: { trainKey: cleanedTrainKey, lines: droppedLines ?? [] } } : {};
    await note(passed ? 'dataset.validated' : 'dataset.rejected', 'ratchet', { reportKey, summary, ...dropped });
    if (!passed) return await finish('dataset_rejected');

    // Rows the validation dropped (policy.mislabels 'drop') stay out of training and distillation. No patch marker is
    // needed: a history recorded before this holds a validation result without `cleanedTrainKey`, so it replays
    // the same train command with the submitted key.
    const trainKey = status.validation.cleanedTrainKey ?? input.dataset.trainKey;
    enter('training');
    const trainingQueue = input.trainingTaskQueue ?? 'gpu';
    const { train } = trainingActivities(trainingQueue);
    status.training = await train({
      trainKey,
      evalKey: input.dataset.evalKey,
      training: input.training,
    }).catch((error: unknown) => {
      const details = error instanceof Error && error.cause instanceof CancelledFailure ? error.cause.details : [];
      status.partial = details[0] as TrainCancelled | undefined;
      throw error;
    });
    publishStatus();
    const trained = status.training;
    await note(
      'model.trained',
      'ratchet',
      { steps: trained.steps, ep: trained.ep, resumedFromStep: trained.resumedFromStep, metrics: trained.metrics },
      { inputs: inputsOf(trained), outputs: { model: trained.modelSha256 } },
    );

    // The model evaluated, gated and deployed: the trained one, or the student distilled from it.
    let candidate = { modelKey: trained.modelKey, modelSha256: trained.modelSha256, datasets: trained.datasets };
    if (input.distillation) {
      enter('distilling');
      const { distill, distil } = distillationActivities(trainingQueue);
      // The activity's type was 'distil' until it took the one spelling: a job whose history scheduled it under that
      // name replays the same call (no patch marker there); every other job records the marker and calls 'distill'.
      const distillStudent = patched('distill-activity') ? distill : distil;
      status.distillation = await distillStudent({
        teacherKey: trained.modelKey,
        trainKey,
        evalKey: input.dataset.evalKey,
        distillation: input.distillation,
        seed: input.training.config.seed,
        threads: input.training.config.threads,
      });
      publishStatus();
      const distilled = status.distillation;
      await note(
        'model.distilled',
        'ratchet',
        { steps: distilled.steps, ep: distilled.ep, student: distilled.student, teacher: distilled.teacher },
        {
          inputs: { ...distilled.datasets, teacher: distilled.teacherSha256 },
          outputs: { model: distilled.modelSha256 },
        },
      );
      candidate = { modelKey: distilled.modelKey, modelSha256: distilled.modelSha256, datasets: distilled.datasets };
    }

    enter('evaluating');
    status.evaluation = await evaluate({
      model: input.model,
      candidateKey: candidate.modelKey,
      evalKey: input.dataset.evalKey,
      oodKey: input.dataset.oodKey,
      // An input field, not a new command: histories recorded without it replay the same schedule.
      trainKey,
    });
    publishStatus();
    // More details in the entry (churn, interval, drift) change the activity's input, not the workflow's commands.
    await note('model.evaluated', 'ratchet', evaluatedDetails(status.evaluation));

    enter('gating');
    status.gate = await gateCandidate({
      model: input.model,
      created: now(),
      submitter,
      intendedUse: input.intendedUse,
      limitations: input.limitations ?? [],
      validationReportKey: reportKey,
      evaluation: status.evaluation,
      training: input.training,
      // Absent unless the job named a base model: older jobs' activity inputs are unchanged.
      baseModel: trained.baseModel,
      distillation: status.distillation,
      policy: input.policy,
    });
    publishStatus();
    const { gate } = status.gate;
    const failedRules = gate.rules.filter((r) => !r.passed).map((r) => r.rule);
    await note(gate.passed ? 'gate.passed' : 'gate.failed', 'ratchet', {
      failedRules,
      cardKey: status.gate.cardKeys.markdown,
    });
    if (!gate.passed) return await finish('gate_failed');

    await allNoted();
    // Set before the state is entered, which publishes both.
    status.approvalDeadline = new Date(Date.now() + status.gate.approvalTimeoutMs).toISOString();
    enter('awaiting_approval');
    publish('fine_tuning.job.awaiting_approval', { approval_deadline: status.approvalDeadline });
    const decided = await condition(() => status.decision !== undefined, status.gate.approvalTimeoutMs);
    if (!decided) {
      await note('job.expired', 'ratchet', { approvalDeadline: status.approvalDeadline });
      return await finish('expired');
    }
    const decision = status.decision!;
    await note(decision.action === 'approve' ? 'job.approved' : 'job.rejected', decision.by, {
      reason: decision.reason,
    });
    if (decision.action === 'reject') return await finish('rejected');

    await allNoted();
    enter('deploying');
    status.deployed = await deploy({
      model: input.model,
      at: now(),
      submitter,
      approver: decision.by,
      trained: { modelKey: candidate.modelKey, datasets: candidate.datasets },
    });
    publishStatus();
    await note(
      'model.deployed',
      decision.by,
      { version: status.deployed.version, production: status.deployed.aliases.production },
      { outputs: { model: candidate.modelSha256, card: status.deployed.cardSha256 } },
    );
    if (input.webhookUrl) {
      // The model is in production whatever the receiver does; a webhook that never answers is recorded, not fatal.
      const event = { type: 'model.deployed', job: jobId, model: input.model, version: status.deployed.version };
      const delivered = await notifyWebhook({ url: input.webhookUrl, event }).then(
        ({ status: httpStatus }) => ({ delivered: true, httpStatus }),
        (error: unknown) => ({ delivered: false, error: rootMessage(error) }),
      );
      await note(delivered.delivered ? 'webhook.delivered' : 'webhook.failed', 'ratchet', {
        url: input.webhookUrl,
        ...delivered,
      });
    }
    return await finish('deployed');
  } catch (error) {
    const cancelled = isCancellation(error);
    status.error = rootMessage(error);
    // The cancellation is in effect for this scope; the last entry and state must still be written.
    await CancellationScope.nonCancellable(async () => {
      enter(cancelled ? 'cancelled' : 'failed');
      // An entry that could not be written failed the job (the error above); the last entry follows those that were.
      appended = appended.catch(() => undefined);
      await note(cancelled ? 'job.cancelled' : 'job.failed', cancelled ? 'user' : 'ratchet', {
        stage: status.transitions.at(-2)?.state ?? 'validating',
        error: status.error,
        ...(status.partial ? { partial: status.partial } : {}),
      });
      await allNoted();
      if (signedEvents) {
        publishEnd(cancelled ? 'cancelled' : 'failed');
        await Promise.all(deliveries);
      }
    });
    throw error;
  }
}

/** The status less what the API does not show: each publish goes into the history and every visibility list. */
function publishedStatus(status: JobStatus): PublishedStatus {
  const { state, submitter, transitions, evaluation, approvalDeadline, decision, deployed, error } = status;
  const { validation, training, distillation, gate } = status;
  return {
    state,
    submitter,
    transitions,
    evaluation,
    approvalDeadline,
    decision,
    deployed,
    error,
    validation: validation && { reportKey: validation.reportKey },
    training: training && { metrics: training.metrics, baseModel: training.baseModel },
    distillation: distillation && {
      steps: distillation.steps,
      modelSha256: distillation.modelSha256,
      teacherSha256: distillation.teacherSha256,
      student: distillation.student,
      teacher: distillation.teacher,
    },
    gate: gate && { gate: gate.gate },
  };
}

/** What a model was made from, by sha256: its data files and, when it was fine-tuned, the base model. */
const inputsOf = ({ datasets, baseModel }: TrainResult): Record<string, string> =>
  baseModel ? { ...datasets, base_model: baseModel.sha256 } : datasets;

/** The registry model as the tenant names it: `acme--iris` is `iris` to tenant acme (api/tenancy.ts). */
const unscopedModel = (model: string, tenant: string) =>
  model.startsWith(`${tenant}--`) ? model.slice(tenant.length + 2) : model;

/** The message of the innermost cause: an ActivityFailure only says 'Activity task failed'; its cause says why. */
function rootMessage(error: unknown): string {
  let inner = error;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  return inner instanceof Error ? inner.message : String(inner);
}

/** Separation of duties and a stated reason, checked before an update is accepted into history. */
function checkDecision(status: JobStatus, decision: DecisionInput | undefined, action: string): void {
  // Typed as never-returning, so the checks below narrow `identity`.
  const refuse: (message: string) => never = (message) => {
    throw ApplicationFailure.create({ type: 'DecisionRefused', message: `cannot ${action}: ${message}` });
  };
  const { identity, reason } = decision ?? {};
  if (status.state !== 'awaiting_approval') refuse(`the job is ${status.state}, not awaiting approval`);
  if (typeof identity?.userId !== 'string' || identity.userId.trim() === '') refuse('the identity has no user id');
  if (!Array.isArray(identity.roles) || !identity.roles.includes('approver')) {
    refuse(`${identity.userId} does not hold the approver role`);
  }
  if (identity.userId === status.submitter) refuse(`${identity.userId} submitted this job and cannot sign it off`);
  if (typeof reason !== 'string' || reason.trim() === '') refuse('a reason is required');
  if (status.decision) refuse(`already decided (${status.decision.action} by ${status.decision.by})`);
}
