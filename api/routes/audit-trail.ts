// What the API itself writes to the tenant's ledger: key, file, model and schedule changes made over HTTP.
import type { Ledger } from '../../core/ledger/ledger.ts';

export class AuditTrail {
  constructor(private readonly ledger: Ledger) {}

  record(
    tenant: string,
    actor: string,
    action: string,
    subject: string,
    details: Record<string, unknown>,
    hashes = {},
  ) {
    return this.ledger.append(tenant, { ts: new Date().toISOString(), actor, action, subject, details, ...hashes });
  }
}
