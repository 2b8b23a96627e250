// The audit ledger against the real S3 server: conditional creates, racing appends, and tampering with the stored
// objects themselves (edit, delete, swap, forge), each of which verify must name.
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { createLedgerActivities } from '../../activities/ledger.ts';
import { canonicalJson } from '../../core/ledger/canonical.ts';
import { entryKey, sealEntry, type AppendInput, type LedgerEntry } from '../../core/ledger/entry.ts';
import { Ledger } from '../../core/ledger/ledger.ts';
import { ObjectStore, PreconditionFailed, objectKey } from '../../core/object-store.ts';
import { s3Client, stack, temporalClient } from '../helpers/stack.ts';

const store = () => new ObjectStore(s3Client(), stack().bucket);
const freshScope = () => `t-${randomUUID().slice(0, 8)}`;

const event = (n: number, subject = 'job-1'): AppendInput => ({
  ts: `2026-11-28T06:00:${String(n % 60).padStart(2, '0')}Z`,
  actor: 'alice',
  action: 'job.submitted',
  subject,
  inputs: { train: 'a'.repeat(64) },
  details: { n },
});

async function appendMany(ledger: Ledger, scope: string, count: number): Promise<LedgerEntry[]> {
  const entries: LedgerEntry[] = [];
  for (let n = 1; n <= count; n++) entries.push(await ledger.append(scope, event(n)));
  return entries;
}

async function getRaw(key: string): Promise<string> {
  const out = await s3Client().send(new GetObjectCommand({ Bucket: stack().bucket, Key: key }));
  return out.Body!.transformToString();
}

async function putRaw(key: string, body: string): Promise<void> {
  await s3Client().send(new PutObjectCommand({ Bucket: stack().bucket, Key: key, Body: body }));
}

describe('the S3 server', () => {
  it('refuses a second create of the same key with 412 (If-None-Match: *)', async () => {
    const key = objectKey('ledger-probe', randomUUID(), 'x.json');
    await store().put(key, 'first', { ifAbsent: true });
    await expect(store().put(key, 'second', { ifAbsent: true })).rejects.toBeInstanceOf(PreconditionFailed);
    expect(Buffer.from((await store().get(key)).bytes).toString()).toBe('first');
  });
});

describe('Ledger.append', () => {
  it('chains entries: seq 1, 2, 3 at zero-padded keys, each prev the hash before it', async () => {
    const scope = freshScope();
    const [a, b, c] = await appendMany(new Ledger(store()), scope, 3);
    expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
    expect(a.prev).toBeNull();
    expect(b.prev).toBe(a.hash);
    expect(c.prev).toBe(b.hash);
    const stored = await getRaw(`ledger/${scope}/000000000002.json`);
    expect(stored).toBe(canonicalJson(b));
  });

  it('records a retried append (same fields) once', async () => {
    const scope = freshScope();
    const ledger = new Ledger(store());
    const first = await ledger.append(scope, event(1));
    expect(await ledger.append(scope, event(1))).toEqual(first);
    expect(await ledger.list(scope)).toHaveLength(1);
  });

  it('moves on to seq N+1 when another writer took seq N', async () => {
    const scope = freshScope();
    const early = new Ledger(store());
    const late = new Ledger(store());
    await appendMany(early, scope, 2);
    await late.append(scope, event(3)); // `late` now believes seq 3 is the head
    await early.append(scope, event(4)); // `early` loses seq 3 and writes 4 (it last saw seq 2)
    const mine = await late.append(scope, event(5)); // `late` loses seq 4 and writes 5
    expect(mine.seq).toBe(5);
    const entries = await early.list(scope);
    expect(entries.map((e) => e.details.n)).toEqual([1, 2, 3, 4, 5]);
    expect((await early.verify(scope)).ok).toBe(true);
  });

  it('gives 24 parallel appends from 4 ledgers 24 distinct seqs and a valid chain', async () => {
    const scope = freshScope();
    const ledgers = Array.from({ length: 4 }, () => new Ledger(store()));
    const entries = await Promise.all(
      Array.from({ length: 24 }, (_, n) => ledgers[n % 4].append(scope, event(n + 1, `job-${n}`))),
    );
    expect(entries.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    const report = await ledgers[0].verify(scope);
    expect(report).toMatchObject({ ok: true, entries: 24, problems: [] });
    expect(report.head?.seq).toBe(24);
  });

  it('refuses a bad entry or scope with a message naming the field', async () => {
    const ledger = new Ledger(store());
    await expect(ledger.append('Bad/Scope', event(1))).rejects.toThrow(/invalid ledger scope "Bad\/Scope"/);
    await expect(ledger.append(freshScope(), { ...event(1), action: 'Submitted' })).rejects.toThrow(/action:/);
    await expect(ledger.append(freshScope(), { ...event(1), ts: 'yesterday' })).rejects.toThrow(/ts: expected an ISO/);
    await expect(ledger.append(freshScope(), { ...event(1), inputs: { train: 'not-a-hash' } })).rejects.toThrow(
      /inputs.train: expected a sha256/,
    );
  });
});

describe('Ledger.list and export', () => {
  it('filters by subject and exports canonical JSON Lines', async () => {
    const scope = freshScope();
    const ledger = new Ledger(store());
    await ledger.append(scope, event(1, 'job-a'));
    await ledger.append(scope, event(2, 'job-b'));
    await ledger.append(scope, { ...event(3, 'job-a'), action: 'gate.passed' });
    expect((await ledger.list(scope, { subject: 'job-a' })).map((e) => e.seq)).toEqual([1, 3]);
    expect((await ledger.list(scope, { action: 'gate.passed' })).map((e) => e.seq)).toEqual([3]);
    const lines = (await ledger.export(scope)).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[1])).toMatchObject({ seq: 2, subject: 'job-b' });
  });
});

describe('Ledger.list through its index', () => {
  /** The real store, counting the objects read: a filtered list must read its subject's entries, not the scope's. */
  class CountingStore extends ObjectStore {
    gets = 0;
    override async get(key: Parameters<ObjectStore['get']>[0]) {
      this.gets++;
      return super.get(key);
    }
  }

  it("reads only the subject's entries, and with `after` only the newer ones", async () => {
    const scope = freshScope();
    const counting = new CountingStore(s3Client(), stack().bucket);
    const ledger = new Ledger(counting);
    for (let n = 1; n <= 30; n++) await ledger.append(scope, event(n, n % 10 === 0 ? 'job-a' : `other-${n}`));
    counting.gets = 0;
    expect((await ledger.list(scope, { subject: 'job-a' })).map((e) => e.seq)).toEqual([10, 20, 30]);
    expect(counting.gets).toBe(3);
    counting.gets = 0;
    expect((await ledger.list(scope, { subject: 'job-a', after: 20 })).map((e) => e.seq)).toEqual([30]);
    expect(counting.gets).toBe(1);
    expect((await ledger.list(scope, { action: 'job.submitted', after: 28 })).map((e) => e.seq)).toEqual([29, 30]);
  });

  it('keeps out a seq indexed by an append that lost it to another writer', async () => {
    const scope = freshScope();
    const early = new Ledger(store());
    const late = new Ledger(store());
    await early.append(scope, event(1, 'x'));
    await late.append(scope, event(2, 'x')); // `early` still believes seq 1 is the head
    await early.append(scope, event(3, 'y')); // indexes seq 2 under y, loses it, writes seq 3
    expect((await early.list(scope, { subject: 'y' })).map((e) => e.seq)).toEqual([3]);
    expect((await late.list(scope, { subject: 'x' })).map((e) => e.seq)).toEqual([1, 2]);
    expect((await early.verify(scope)).ok).toBe(true);
  });

  it('indexes a ledger written before the index existed on its first filtered read, once', async () => {
    const scope = freshScope();
    // Entries as an earlier Ratchet wrote them: the chain's objects and no index.
    let prev: LedgerEntry | null = null;
    for (let n = 1; n <= 4; n++) {
      const entry = sealEntry({
        ...event(n, n % 2 ? 'odd' : 'even'),
        inputs: { train: 'a'.repeat(64) },
        outputs: {},
        details: { n },
        scope,
        seq: n,
        prev: prev?.hash ?? null,
      });
      await putRaw(entryKey(scope, n), canonicalJson(entry));
      prev = entry;
    }
    const ledger = new Ledger(store());
    expect((await ledger.list(scope, { subject: 'odd' })).map((e) => e.seq)).toEqual([1, 3]);
    await ledger.append(scope, event(5, 'odd'));
    expect((await new Ledger(store()).list(scope, { subject: 'odd' })).map((e) => e.seq)).toEqual([1, 3, 5]);
    expect(JSON.parse(await getRaw(`ledger-index/${scope}/complete.json`))).toEqual({ through: 4 });
    expect((await ledger.verify(scope)).ok).toBe(true);
  });
});

describe('Ledger.verify on tampered objects in S3', () => {
  async function ledgerOf(count: number) {
    const scope = freshScope();
    const ledger = new Ledger(store());
    const entries = await appendMany(ledger, scope, count);
    return { scope, ledger, entries, key: (seq: number) => entryKey(scope, seq) };
  }

  it('passes an untouched ledger and reports its head', async () => {
    const { scope, ledger, entries } = await ledgerOf(4);
    expect(await ledger.verify(scope)).toEqual({
      ok: true,
      scope,
      entries: 4,
      head: { seq: 4, hash: entries[3].hash },
      problems: [],
    });
  });

  it('names an edited field as altered', async () => {
    const { scope, ledger, key } = await ledgerOf(4);
    const entry = JSON.parse(await getRaw(key(2)));
    await putRaw(key(2), canonicalJson({ ...entry, actor: 'mallory' }));
    const report = await ledger.verify(scope);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ seq: 2, problem: 'altered' })]);
  });

  it('names an edit with a recomputed hash as a broken link at the next seq', async () => {
    const { scope, ledger, key } = await ledgerOf(4);
    const entry = JSON.parse(await getRaw(key(2)));
    await putRaw(key(2), canonicalJson(sealEntry({ ...entry, actor: 'mallory' })));
    expect((await ledger.verify(scope)).problems).toEqual([
      expect.objectContaining({ seq: 3, problem: 'broken_link' }),
    ]);
  });

  it('names a deleted entry as missing', async () => {
    const { scope, ledger, key } = await ledgerOf(5);
    await s3Client().send(new DeleteObjectCommand({ Bucket: stack().bucket, Key: key(3) }));
    expect((await ledger.verify(scope)).problems).toEqual([
      expect.objectContaining({ seq: 3, problem: 'missing', message: 'entry 3 is missing (deleted)' }),
    ]);
  });

  it('names two swapped entries as reordered', async () => {
    const { scope, ledger, key } = await ledgerOf(5);
    const [two, four] = [await getRaw(key(2)), await getRaw(key(4))];
    await putRaw(key(2), four);
    await putRaw(key(4), two);
    expect((await ledger.verify(scope)).problems).toEqual([
      expect.objectContaining({ seq: 2, problem: 'reordered' }),
      expect.objectContaining({ seq: 4, problem: 'reordered' }),
    ]);
  });

  it('names a forged entry put in place of a deleted one as a broken link', async () => {
    const { scope, ledger, key, entries } = await ledgerOf(4);
    const forged = sealEntry({ ...entries[2], action: 'approval.approved', actor: 'mallory', prev: entries[1].hash });
    await putRaw(key(3), canonicalJson(forged));
    expect((await ledger.verify(scope)).problems).toEqual([
      expect.objectContaining({ seq: 4, problem: 'broken_link' }),
    ]);
  });

  it('names a stray object, a non-JSON entry and a truncation against an anchor', async () => {
    const { scope, ledger, key, entries } = await ledgerOf(3);
    await putRaw(`ledger/${scope}/notes.txt`, 'hello');
    await putRaw(key(2), 'not json');
    await s3Client().send(new DeleteObjectCommand({ Bucket: stack().bucket, Key: key(3) }));
    const report = await ledger.verify(scope, { anchor: { seq: 3, hash: entries[2].hash } });
    expect(report.problems.map((p) => [p.seq, p.problem])).toEqual([
      [null, 'foreign'],
      [2, 'malformed'],
      [3, 'anchor_mismatch'],
    ]);
  });
});

describe('appendLedgerEntry activity', () => {
  it('appends through the ledger writer, and fails a bad entry as non-retryable', async () => {
    const client = await temporalClient();
    const { appendLedgerEntry } = createLedgerActivities(store(), undefined, () => ({ client }));
    const scope = freshScope();
    expect(await appendLedgerEntry({ scope, entry: event(1) })).toMatchObject({ scope, seq: 1 });
    const failure = await appendLedgerEntry({ scope, entry: { ...event(2), actor: '' } }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      nonRetryable: true,
      type: 'InvalidLedgerInput',
      message: /actor: must name who acted/,
    });
  });

  it("answers a retried append with the entry its first attempt wrote, after others' entries", async () => {
    const client = await temporalClient();
    const { appendLedgerEntry } = createLedgerActivities(store(), undefined, () => ({ client }));
    const scope = freshScope();
    const first = await appendLedgerEntry({ scope, entry: event(1, 'job-a') });
    await appendLedgerEntry({ scope, entry: event(2, 'job-b') });
    // The same fields again, as a job's activity retried after its first update was written sends them.
    expect(await appendLedgerEntry({ scope, entry: event(1, 'job-a') })).toEqual(first);
    // Two at once, both new: written once, both told the same entry.
    const [x, y] = await Promise.all([
      appendLedgerEntry({ scope, entry: event(3, 'job-c') }),
      appendLedgerEntry({ scope, entry: event(3, 'job-c') }),
    ]);
    expect(x).toEqual(y);
    const entries = await new Ledger(store()).list(scope);
    expect(entries.map((e) => [e.seq, e.subject])).toEqual([
      [1, 'job-a'],
      [2, 'job-b'],
      [3, 'job-c'],
    ]);
  });
});
