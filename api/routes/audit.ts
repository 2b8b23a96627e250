// The tenant's audit ledger: entries by subject, the chain verified, the whole ledger exported as JSON Lines.
import { z } from 'zod';
import type { Ledger } from '../../core/ledger/ledger.ts';
import { resource } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { listOf, listPage, listQuery } from './schemas.ts';

export const ledgerEntrySchema = z
  .object({
    scope: z.string(),
    seq: z.number().int(),
    ts: z.string(),
    actor: z.string(),
    action: z.string(),
    subject: z.string(),
    inputs: z.record(z.string(), z.string()),
    outputs: z.record(z.string(), z.string()),
    details: z.record(z.string(), z.unknown()),
    prev: z.string().nullable(),
    hash: z.string(),
  })
  .meta({ id: 'LedgerEntry' });

const api = resource('audit');

const list = api.get('/v1/audit/entries', {
  summary: "The tenant's ledger entries in order, optionally about one subject or of one action",
  role: 'viewer',
  query: listQuery(20).extend({
    subject: z.string().min(1).max(256).optional(),
    action: z.string().min(1).max(100).optional(),
  }),
  responses: { 200: { description: 'A page of entries', schema: listOf(ledgerEntrySchema) } },
});

const verify = api.get('/v1/audit/verify', {
  summary: "Walk the tenant's hash chain and name every altered, missing or inserted entry",
  role: 'viewer',
  responses: {
    200: {
      description: 'The verification report',
      schema: z
        .object({ ok: z.boolean(), entries: z.number().int(), problems: z.array(z.record(z.string(), z.unknown())) })
        .loose(),
    },
  },
});

const exportLedger = api.get('/v1/audit/export', {
  summary: 'The whole ledger as JSON Lines of canonical JSON (the bytes each hash covers)',
  role: 'viewer',
  responses: { 200: { description: 'One entry a line', contentType: 'application/x-ndjson' } },
});

export const auditEndpoints = [list, verify, exportLedger];

export function auditRoutes(deps: { ledger: Ledger; limits: BodyLimits }) {
  const { app, mount } = router(deps.limits);

  mount(list, async (c, { query }) => {
    const entries = await deps.ledger.list(c.get('principal').tenant, { subject: query.subject, action: query.action });
    // An entry's id is its seq: `after=<seq>` pages on.
    return c.json(listPage(entries, (e) => String(e.seq), query));
  });

  mount(verify, async (c) => c.json(await deps.ledger.verify(c.get('principal').tenant)));

  mount(exportLedger, async (c) => {
    const { tenant } = c.get('principal');
    return c.body(await deps.ledger.export(tenant), 200, {
      'Content-Type': 'application/x-ndjson',
      'Content-Disposition': `attachment; filename="ledger-${tenant}.jsonl"`,
    });
  });

  return app;
}
