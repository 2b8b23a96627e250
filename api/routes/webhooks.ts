// Webhook endpoints: an admin registers the URLs that receive the tenant's job events, signed per Standard Webhooks.
// The secret is shown when the endpoint is created and when it is rotated, never in a list or a get. A URL that
// resolves to a loopback, link-local or private address is refused unless the admin sets allow_private.
import { z } from 'zod';
import {
  checkDestination,
  WebhookDestinationRefused,
  WebhookHostUnresolved,
  type Resolver,
} from '../../core/webhooks/destination.ts';
import { WEBHOOK_EVENT_TYPES } from '../../core/webhooks/events.ts';
import {
  publicView,
  WebhookEndpointConflict,
  type WebhookEndpointRecord,
  type WebhookStore,
} from '../../core/webhooks/store.ts';
import { resource } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { conflict, invalidField, notFound } from '../problem.ts';
import type { AuditTrail } from './audit-trail.ts';
import { deletedResponses } from './schemas.ts';

const endpointSchema = z
  .object({
    id: z.string(),
    object: z.literal('webhook_endpoint'),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
    description: z.string(),
    allow_private: z.boolean(),
    created_at: z.number().int(),
    created_by: z.string(),
    rotated_at: z.number().int().nullable(),
    previous_secret_expires_at: z.number().int().nullable(),
  })
  .meta({ id: 'WebhookEndpoint' });

const withSecret = endpointSchema
  .extend({ secret: z.string().meta({ description: 'whsec_ and base64: shown here only' }) })
  .meta({ id: 'WebhookEndpointWithSecret' });

const DAY = 24 * 60 * 60;

const api = resource('webhooks');
const onEndpoint = api.one(
  z.object({ webhookId: z.string().regex(/^we_[0-9a-f]{16}$/, 'expected a webhook id such as we_0123456789abcdef') }),
  'No such webhook endpoint in this tenant',
);

const create = api.post('/v1/webhooks', {
  summary: 'Register a webhook endpoint for job events (the signing secret is returned once)',
  role: 'admin',
  body: z
    .object({
      url: z.string().max(2048),
      /** Default: every event type. */
      events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1, 'name at least one event type').optional(),
      description: z.string().max(500).default(''),
      /** Admit a URL that resolves to loopback, link-local or private addresses (an internal receiver). */
      allow_private: z.boolean().default(false),
    })
    .strict(),
  responses: {
    201: { description: 'Registered', schema: withSecret },
    400: { description: 'The URL is not http(s), does not resolve, or resolves to a refused address' },
  },
});

const list = api.get('/v1/webhooks', {
  summary: "List the tenant's webhook endpoints",
  role: 'admin',
  responses: {
    200: {
      description: 'Endpoints, without secrets',
      schema: z.object({ object: z.literal('list'), data: z.array(endpointSchema) }),
    },
  },
});

const get = onEndpoint.get('/v1/webhooks/{webhookId}', {
  summary: 'A webhook endpoint, without its secret',
  role: 'admin',
  responses: { 200: { description: 'The endpoint', schema: endpointSchema } },
});

const remove = onEndpoint.delete('/v1/webhooks/{webhookId}', {
  summary: 'Delete a webhook endpoint',
  role: 'admin',
  responses: deletedResponses('webhook_endpoint'),
});

const rotate = onEndpoint.post('/v1/webhooks/{webhookId}/rotate_secret', {
  summary: 'Rotate the signing secret; the old one keeps signing for the grace period',
  role: 'admin',
  body: z
    .object({
      /** How long the old secret still signs (both signatures are sent). Default a day; 0 ends it at once. */
      grace_period_seconds: z
        .number()
        .int()
        .min(0)
        .max(7 * DAY)
        .default(DAY),
    })
    .strict(),
  responses: {
    200: { description: 'The endpoint with its new secret', schema: withSecret },
    409: { description: 'Rotated by another request meanwhile' },
  },
});

export const webhookEndpoints = [create, list, get, remove, rotate];

/** The endpoint as the API shows it; with `secret` only right after creating or rotating. */
const shown = (record: WebhookEndpointRecord, secret?: string) => ({
  ...publicView(record),
  ...(secret ? { secret } : {}),
});

export function webhookRoutes(deps: {
  webhooks: WebhookStore;
  audit: AuditTrail;
  limits: BodyLimits;
  resolve?: Resolver;
}) {
  const { app, mount } = router(deps.limits);

  mount(create, async (c, { body }) => {
    const admin = c.get('principal');
    try {
      await checkDestination(body.url, { allowPrivate: body.allow_private, resolve: deps.resolve });
    } catch (error) {
      if (error instanceof WebhookDestinationRefused || error instanceof WebhookHostUnresolved) {
        throw invalidField('body.url', error.message);
      }
      throw error;
    }
    const record = await deps.webhooks.create(admin.tenant, body, admin.user);
    // The secret stays out of the ledger; the URL is the admin's own input.
    await deps.audit.record(admin.tenant, admin.user, 'webhook_endpoint.created', record.id, {
      url: record.url,
      events: record.events,
      allow_private: record.allow_private,
    });
    return c.json(shown(record, record.secret), 201);
  });

  mount(list, async (c) => {
    const records = await deps.webhooks.list(c.get('principal').tenant);
    return c.json({ object: 'list' as const, data: records.map((r) => shown(r)) });
  });

  mount(get, async (c, { params }) => {
    const record = await deps.webhooks.get(c.get('principal').tenant, params.webhookId);
    if (!record) throw notFound(`webhook endpoint ${params.webhookId}`);
    return c.json(shown(record));
  });

  mount(remove, async (c, { params }) => {
    const admin = c.get('principal');
    const record = await deps.webhooks.delete(admin.tenant, params.webhookId);
    if (!record) throw notFound(`webhook endpoint ${params.webhookId}`);
    await deps.audit.record(admin.tenant, admin.user, 'webhook_endpoint.deleted', record.id, { url: record.url });
    return c.json({ id: record.id, object: 'webhook_endpoint' as const, deleted: true as const });
  });

  mount(rotate, async (c, { params, body }) => {
    const admin = c.get('principal');
    const record = await deps.webhooks
      .rotate(admin.tenant, params.webhookId, body.grace_period_seconds)
      .catch((error: unknown) => {
        if (error instanceof WebhookEndpointConflict) throw conflict(error.message);
        throw error;
      });
    if (!record) throw notFound(`webhook endpoint ${params.webhookId}`);
    await deps.audit.record(admin.tenant, admin.user, 'webhook_endpoint.secret_rotated', record.id, {
      grace_period_seconds: body.grace_period_seconds,
    });
    return c.json(shown(record, record.secret));
  });

  return app;
}
