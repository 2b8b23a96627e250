// API keys: an admin creates, lists and revokes the keys of a tenant. A new key's secret is shown once.
import { z } from 'zod';
import type { KeyStore } from '../auth/keys.ts';
import { ROLES, tenantSchema, userSchema } from '../auth/principal.ts';
import { resource } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { notFound } from '../problem.ts';
import type { AuditTrail } from './audit-trail.ts';

const keyInfo = z
  .object({
    id: z.string(),
    user: z.string(),
    tenant: z.string(),
    roles: z.array(z.enum(ROLES)),
    createdAt: z.string(),
    createdBy: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiKey' });

const api = resource('keys');

const create = api.post('/v1/keys', {
  summary: 'Create an API key (the secret is returned once)',
  role: 'admin',
  body: z
    .object({
      user: userSchema,
      roles: z.array(z.enum(ROLES)).min(1, 'give at least one role'),
      /** Default: the admin's own tenant. */
      tenant: tenantSchema.optional(),
    })
    .strict(),
  responses: { 201: { description: 'Created', schema: z.object({ key: z.string(), info: keyInfo }) } },
});

const list = api.get('/v1/keys', {
  summary: "List the keys of the admin's tenant",
  role: 'admin',
  responses: { 200: { description: 'Keys, without secrets or hashes', schema: z.object({ data: z.array(keyInfo) }) } },
});

const revoke = api.delete('/v1/keys/{keyId}', {
  summary: 'Revoke a key',
  role: 'admin',
  params: z.object({
    keyId: z.string().regex(/^([0-9a-f]{16}|bootstrap)$/, 'expected a key id such as 0123456789abcdef'),
  }),
  responses: { 200: { description: 'Revoked', schema: keyInfo }, 404: { description: 'No such key in this tenant' } },
});

export const keyEndpoints = [create, list, revoke];

export function keyRoutes(deps: { keys: KeyStore; audit: AuditTrail; limits: BodyLimits }) {
  const { app, mount } = router(deps.limits);

  mount(create, async (c, { body }) => {
    const admin = c.get('principal');
    const { key, info } = await deps.keys.create({ ...body, tenant: body.tenant ?? admin.tenant }, admin.user);
    await deps.audit.record(info.tenant, admin.user, 'key.created', info.id, { user: info.user, roles: info.roles });
    return c.json({ key, info }, 201);
  });

  mount(list, async (c) => c.json({ data: await deps.keys.list(c.get('principal').tenant) }));

  mount(revoke, async (c, { params }) => {
    const admin = c.get('principal');
    const info = await deps.keys.revoke(params.keyId, admin.tenant);
    if (!info) throw notFound(`key ${params.keyId}`);
    await deps.audit.record(admin.tenant, admin.user, 'key.revoked', info.id, {});
    return c.json(info);
  });

  return app;
}
