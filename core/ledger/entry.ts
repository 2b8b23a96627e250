import { z } from 'zod';
import { canonicalJson, sha256Hex } from './canonical.ts';

// One ledger entry: who did what to which subject, when, on which bytes, chained to the entry before it.

/** A tenant or other scope: becomes a key segment, so it is held to a strict pattern. */
export const SCOPE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** Digits of a seq in a key, zero-padded so that S3's lexical order is seq order. */
export const SEQ_DIGITS = 12;

const sha256Map = z.record(
  z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a short name such as "train"'),
  z.string().regex(SHA256, 'expected a sha256 as 64 lowercase hex digits'),
);

/** What a caller appends; the ledger adds scope, seq, prev and hash. */
export const appendInputSchema = z
  .object({
    /** ISO 8601 instant, given by the caller: a workflow passes its deterministic time. */
    ts: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time such as 2026-11-28T06:00:00Z' }),
    actor: z.string().min(1, 'must name who acted').max(256),
    action: z
      .string()
      .regex(/^[a-z][a-z_]*(\.[a-z][a-z_]*)+$/, 'expected a dotted lowercase name such as "job.submitted"'),
    subject: z.string().min(1, 'must name the job or model version acted on').max(256),
    inputs: sha256Map.default({}),
    outputs: sha256Map.default({}),
    details: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type AppendInput = z.input<typeof appendInputSchema>;

export type LedgerEntry = z.output<typeof appendInputSchema> & {
  scope: string;
  /** 1 for the first entry of a scope, then +1 with no gaps. */
  seq: number;
  /** The previous entry's `hash`; null for seq 1. */
  prev: string | null;
  /** sha256 of this entry's canonical JSON without `hash`. */
  hash: string;
};

export const ledgerEntrySchema = appendInputSchema.extend({
  scope: z.string().regex(SCOPE),
  seq: z.number().int().min(1),
  prev: z.string().regex(SHA256).nullable(),
  hash: z.string().regex(SHA256),
});

export class InvalidLedgerInput extends Error {
  override name = 'InvalidLedgerInput';
}

export function parseAppendInput(input: unknown): z.output<typeof appendInputSchema> {
  const parsed = appendInputSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidLedgerInput(`invalid ledger entry: ${problems.join('; ')}`);
  }
  // Details must hash the same everywhere, so values JSON cannot hold (NaN, Infinity, dates) are refused here.
  try {
    canonicalJson(parsed.data.details, 'details');
  } catch (error) {
    throw new InvalidLedgerInput(`invalid ledger entry: ${(error as Error).message}`);
  }
  return parsed.data;
}

export function checkScope(scope: string): string {
  if (!SCOPE.test(scope)) {
    throw new InvalidLedgerInput(
      `invalid ledger scope ${JSON.stringify(scope)}: use 1-63 of a-z, 0-9, '_', '-' (first a letter or digit)`,
    );
  }
  return scope;
}

/** The hash an entry must carry: sha256 over its canonical JSON, `hash` left out. */
export function entryHash(entry: Omit<LedgerEntry, 'hash'> & { hash?: unknown }): string {
  // canonicalJson leaves out undefined fields.
  return sha256Hex(canonicalJson({ ...entry, hash: undefined }));
}

export function sealEntry(body: Omit<LedgerEntry, 'hash'>): LedgerEntry {
  return { ...body, hash: entryHash(body) };
}

export const ledgerPrefix = (scope: string) => `ledger/${checkScope(scope)}/`;

export const entryKey = (scope: string, seq: number) =>
  `${ledgerPrefix(scope)}${String(seq).padStart(SEQ_DIGITS, '0')}.json`;

/** The seq a key names, or undefined for a key that is not an entry key. */
export function seqOfKey(prefix: string, key: string): number | undefined {
  const match = new RegExp(`^${prefix}(\\d{${SEQ_DIGITS}})\\.json$`).exec(key);
  const seq = match ? Number(match[1]) : 0;
  return seq >= 1 ? seq : undefined;
}
