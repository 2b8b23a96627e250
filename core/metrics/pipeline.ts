// What the workers observe of the pipeline, kept per process. Workers observe these where the work happens: the
// API cannot see a training's steps or a webhook's answer, and deriving them from workflow histories would cost
// Temporal reads on every scrape. So each process serves its own: `ratchet worker` on its metrics port
// (RATCHET_METRICS_PORT, infra/metrics-server.ts), `ratchet dev`, whose workers share the API's process, on the
// API's /metrics. Prometheus scrapes every worker and sums across them.
import { Counter, Gauge, Histogram, type Metric } from './registry.ts';

// Seconds: validation and gating take seconds, a training minutes to hours.
const STAGE_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];
// Seconds: an append is an update to the scope's writer workflow plus an S3 write, tens of milliseconds when well.
const LEDGER_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The activity types that are pipeline stages, by the stage name the metrics use. */
const STAGES: Record<string, string> = {
  validateDataset: 'validate',
  train: 'train',
  distill: 'distill',
  // The distillation activity's old type name (activities/index.ts); still the same stage.
  distil: 'distill',
  evaluate: 'evaluate',
  gateCandidate: 'gate',
  deploy: 'deploy',
};
const WEBHOOK_ACTIVITIES = new Set(['deliverWebhook', 'notifyWebhook']);
const LEDGER_APPEND_ACTIVITY = 'appendLedgerEntry';

export type ActivityOutcome = 'completed' | 'failed' | 'cancelled';

class PipelineMetrics {
  readonly stageDuration = new Histogram(
    'ratchet_stage_duration_seconds',
    'Time one attempt of a pipeline stage took, by stage and outcome (completed, failed, cancelled).',
    STAGE_BUCKETS,
  );
  readonly trainingSteps = new Counter(
    'ratchet_training_steps_total',
    'Optimiser steps taken by training and distillation in this process.',
  );
  readonly trainingRate = new Gauge(
    'ratchet_training_steps_per_second',
    'Steps per second of the latest training attempt in this process, since it started (absent before any).',
  );
  readonly ledgerAppend = new Histogram(
    'ratchet_ledger_append_duration_seconds',
    "Time for a job's ledger append to be written through its scope's writer, successful appends only.",
    LEDGER_BUCKETS,
  );
  readonly webhookDeliveries = new Counter(
    'ratchet_webhook_deliveries_total',
    'Webhook delivery attempts by outcome (delivered, failed); each failed attempt is retried by Temporal.',
  );

  /** One finished attempt of an activity, as the worker's activity interceptor saw it. */
  activity(type: string, seconds: number, outcome: ActivityOutcome): void {
    const stage = STAGES[type];
    if (stage) this.stageDuration.observe({ stage, outcome }, seconds);
    if (WEBHOOK_ACTIVITIES.has(type) && outcome !== 'cancelled')
      this.webhookDeliveries.inc({ outcome: outcome === 'completed' ? 'delivered' : 'failed' });
    if (type === LEDGER_APPEND_ACTIVITY && outcome === 'completed') this.ledgerAppend.observe({}, seconds);
  }

  get metrics(): Metric[] {
    return [this.stageDuration, this.trainingSteps, this.trainingRate, this.ledgerAppend, this.webhookDeliveries];
  }
}

/** This process's pipeline metrics. */
export const pipelineMetrics = new PipelineMetrics();

/**
 * Counts a training attempt's steps as its progress callback reports them. `fromStep`: where the attempt starts (a
 * resumed one past 0); each report gives the latest step and the time since the attempt's first step began.
 */
export function trainingMeter(fromStep: number): (step: number, elapsedMs: number) => void {
  let last = fromStep;
  return (step, elapsedMs) => {
    if (step <= last) return;
    pipelineMetrics.trainingSteps.inc({}, step - last);
    last = step;
    if (elapsedMs > 0) pipelineMetrics.trainingRate.set({}, ((step - fromStep) * 1000) / elapsedMs);
  };
}
