// The events a webhook endpoint may subscribe to, declared once: the workflow sends them, the API validates
// subscriptions against them, docs/API.md describes them. Constants and types only, importing nothing.

export const WEBHOOK_EVENT_TYPES = [
  // OpenAI's fine-tuning webhook events: a job that deployed succeeded; every other end but a cancel failed.
  'fine_tuning.job.succeeded',
  'fine_tuning.job.failed',
  'fine_tuning.job.cancelled',
  // Ratchet's: the candidate passed the gate and waits for a sign-off; the candidate is in production.
  'fine_tuning.job.awaiting_approval',
  'fine_tuning.job.deployed',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** One event, as OpenAI's webhooks send it: `data.id` is the job id; Ratchet's own types add fields to `data`. */
export type WebhookEvent = {
  /** `evt_…`, the same on every attempt: it is also the `webhook-id` header, which receivers deduplicate on. */
  id: string;
  object: 'event';
  type: WebhookEventType;
  /** Unix seconds. */
  created_at: number;
  data: { id: string } & Record<string, unknown>;
};
