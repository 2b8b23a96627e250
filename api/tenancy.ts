// A tenant's objects carry the tenant in their names: workflow ids, schedule ids and registry model names are
// `<tenant>--<name>`, S3 keys sit under tenants/<tenant>/. Tenants never contain '--' (auth/principal.ts), so the
// split is unambiguous, and a name from another tenant is simply not found.
export const SEPARATOR = '--';

export const scoped = (tenant: string, name: string) => `${tenant}${SEPARATOR}${name}`;

/** The tenant's own name for `id`, or undefined when `id` belongs to another tenant. */
export function unscoped(tenant: string, id: string): string | undefined {
  const prefix = `${tenant}${SEPARATOR}`;
  return id.startsWith(prefix) && id.length > prefix.length ? id.slice(prefix.length) : undefined;
}
