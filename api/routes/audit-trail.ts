// What the API itself writes to the tenant's ledger: key, file, model and schedule changes made over HTTP.
import type { LedgerAppender } from '../../core/ledger/writer.ts';

export class AuditTrail {
  /** Through the tenants' ledger writers (core/ledger/writer.ts): the workers append to the same ledgers. */
  constructor(private readonly ledger: LedgerAppender) {}

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
