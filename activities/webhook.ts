import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { ApplicationFailure } from '@temporalio/activity';
import type { ObjectStore } from '../core/object-store.ts';
import {
  checkDestination,
  redactedUrl,
  WebhookDestinationRefused,
  type Destination,
  type ResolvedAddress,
  type Resolver,
} from '../core/webhooks/destination.ts';
import type { WebhookEvent, WebhookEventType } from '../core/webhooks/events.ts';
import { webhookHeaders } from '../core/webhooks/signing.ts';
import { signingSecrets, WebhookStore } from '../core/webhooks/store.ts';

// The deploy webhook of jobs started before signed webhooks (workflow input `webhookUrl`, which no API route sets):
// one unsigned JSON POST, so a serving system can pull the new production model. A non-2xx answer or no answer is
// retried by Temporal; a URL that cannot be one is not.

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

// Signed events to the endpoints a tenant's admin registered (core/webhooks): Standard Webhooks headers, sent only
// to addresses checked just before (a name re-resolved at connect time could point elsewhere), no redirect
// followed. A receiver that is down or answers non-2xx is retried by Temporal with backoff; a destination that is
// refused, a redirect or an endpoint deleted meanwhile is not.

export type WebhookEndpointsForInput = { tenant: string; type: WebhookEventType };
export type DeliverWebhookInput = { tenant: string; endpoint: string; event: WebhookEvent };
/** `url` without its query: what the ledger records. */
export type DeliverWebhookResult = { status: number; url: string };

/** The resolver's addresses, handed to the socket instead of a second lookup. */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) return callback(null, addresses);
    const chosen = addresses.find((a) => !options.family || a.family === options.family) ?? addresses[0];
    callback(null, chosen.address, chosen.family);
  };
}

/** POSTs `body` to a checked destination; the HTTP status. A redirect is answered, never followed. */
export function postToDestination(
  { url, addresses }: Destination,
  headers: Record<string, string>,
  body: string,
  timeoutMs = TIMEOUT_MS,
): Promise<number> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'Ratchet-Webhooks/1',
        },
        lookup: pinnedLookup(addresses),
        // A pooled socket may have been opened to another address of the name.
        agent: false,
        signal: AbortSignal.timeout(timeoutMs),
      },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

export function createWebhookActivities(store: ObjectStore, options: { resolve?: Resolver } = {}) {
  const webhooks = new WebhookStore(store);
  return {
    async webhookEndpointsFor({ tenant, type }: WebhookEndpointsForInput): Promise<string[]> {
      return webhooks.subscribed(tenant, type);
    },

    async deliverWebhook({ tenant, endpoint, event }: DeliverWebhookInput): Promise<DeliverWebhookResult> {
      const record = await webhooks.get(tenant, endpoint);
      if (!record)
        throw ApplicationFailure.nonRetryable(`webhook endpoint ${endpoint} was deleted`, 'WebhookEndpointGone');
      let destination: Destination;
      try {
        destination = await checkDestination(record.url, {
          allowPrivate: record.allow_private,
          resolve: options.resolve,
        });
      } catch (error) {
        // A name that does not resolve now may later: that one is retried.
        if (error instanceof WebhookDestinationRefused)
          throw ApplicationFailure.nonRetryable(error.message, error.name);
        throw error;
      }
      const url = redactedUrl(destination.url);
      const body = JSON.stringify(event);
      const now = Date.now();
      const headers = webhookHeaders(signingSecrets(record, now), event.id, Math.floor(now / 1000), body);
      const status = await postToDestination(destination, headers, body).catch((error: unknown) => {
        throw new Error(`webhook ${url}: ${(error as Error).message}`);
      });
      if (status >= 300 && status < 400) {
        throw ApplicationFailure.nonRetryable(
          `webhook ${url} answered ${status}, a redirect: redirects are not followed; register the final URL`,
          'WebhookRedirected',
        );
      }
      if (status < 200 || status >= 300) throw new Error(`webhook ${url} answered ${status}`);
      return { status, url };
    },
  };
}
