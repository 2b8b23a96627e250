// Who a request acts as, once its key is known.
import { z } from 'zod';

export const ROLES = ['viewer', 'submitter', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Principal = { keyId: string; user: string; tenant: string; roles: Role[] };

// Tenants and users become parts of S3 keys, workflow ids and ledger scopes; a tenant never holds '--', which
// separates it from the rest of an id ('acme--job-...').
export const tenantSchema = z
  .string()
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected lowercase letters and digits in words joined by single hyphens')
  .max(24);
export const userSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "expected lowercase letters, digits, '.', '_', '-', first a letter or digit")
  .max(64);

/** Every key may read its tenant's objects; the other roles are held or not, none implies another. */
export function holds(principal: Principal, role: Role): boolean {
  return role === 'viewer' || principal.roles.includes(role);
}
