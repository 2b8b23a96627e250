import { ApplicationFailure } from '@temporalio/activity';

// The deploy webhook: one JSON POST to the URL a job names, so a serving system can pull the new production model.
// A non-2xx answer or no answer is retried by Temporal; a URL that cannot be one is not.

export type WebhookInput = { url: string; event: Record<string, unknown> };

/** Per attempt: a receiver that has not answered by then is treated as down and tried again later. */
const TIMEOUT_MS = 10_000;

export async function notifyWebhook({ url, event }: WebhookInput): Promise<{ status: number }> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw ApplicationFailure.nonRetryable(`webhook URL ${JSON.stringify(url)} is not a URL`, 'InvalidWebhook');
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw ApplicationFailure.nonRetryable(`webhook URL ${url}: expected http or https`, 'InvalidWebhook');
  }
  const response = await fetch(target, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(event),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`webhook ${url} answered ${response.status}`);
  return { status: response.status };
}
