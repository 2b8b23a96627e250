import { createHash } from 'node:crypto';

// Canonical JSON: object keys sorted by code point, no whitespace, numbers and strings as JSON.stringify writes them
// (the JSON Canonicalization Scheme, RFC 8785, for the values a ledger entry holds). Two parties that hold the same
// value get the same bytes, so a hash over them can be recomputed by anyone, in any language.

export class NotCanonicalisable extends Error {
  override name = 'NotCanonicalisable';
}

export function canonicalJson(value: unknown, path = '$'): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new NotCanonicalisable(`${path}: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item, i) => canonicalJson(item, `${path}[${i}]`)).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field, `${path}.${key}`)}`);
    return `{${fields.join(',')}}`;
  }
  throw new NotCanonicalisable(`${path}: a ${typeof value} is not a JSON value`);
}

export function sha256Hex(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
