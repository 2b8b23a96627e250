// The ledger's pure half: canonical JSON (what every hash is computed over) and the chain walk behind verify.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, sha256Hex } from '../../core/ledger/canonical.ts';
import { verifyChain, type StoredObject } from '../../core/ledger/chain.ts';
import {
  entryHash,
  entryKey,
  parseAppendInput,
  sealEntry,
  seqOfKey,
  type LedgerEntry,
} from '../../core/ledger/entry.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: [3, { z: 1, a: null }], a: 'x', c: { y: true, x: 1.5 } })).toBe(
      '{"a":"x","b":[3,{"a":null,"z":1}],"c":{"x":1.5,"y":true}}',
    );
  });

  it('is the same for any key order and parses back to the value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const shuffled = JSON.parse(
          JSON.stringify(value, (_k, v) =>
            v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
          ),
        );
        expect(canonicalJson(shuffled)).toBe(canonicalJson(value));
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });

  it('leaves out undefined fields and refuses what JSON cannot hold, naming where', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow('$.a[1]: NaN has no JSON form');
    expect(() => canonicalJson({ when: new Date(0) })).toThrow('$.when: a object is not a JSON value');
    expect(() => canonicalJson({ n: 1n })).toThrow(/\$\.n: a bigint/);
  });
});

describe('entries', () => {
  it('keys are zero-padded so lexical order is seq order, and only entry keys parse', () => {
    expect(entryKey('acme', 7)).toBe('ledger/acme/000000000007.json');
    expect(seqOfKey('ledger/acme/', 'ledger/acme/000000000007.json')).toBe(7);
    expect(seqOfKey('ledger/acme/', 'ledger/acme/000000000000.json')).toBeUndefined();
    expect(seqOfKey('ledger/acme/', 'ledger/acme/7.json')).toBeUndefined();
    expect(() => entryKey('../x', 1)).toThrow(/invalid ledger scope/);
  });

  it('hash is sha256 of the canonical entry without its hash field', () => {
    const entry = chain(1)[0];
    const { hash, ...body } = entry;
    expect(hash).toBe(sha256Hex(canonicalJson(body)));
    expect(entryHash({ ...entry, actor: 'mallory' })).not.toBe(hash);
  });

  it('refuses details that would not hash the same everywhere', () => {
    expect(() => parseAppendInput({ ...input(1), details: { loss: Number.POSITIVE_INFINITY } })).toThrow(
      'invalid ledger entry: details.loss: Infinity has no JSON form',
    );
  });
});

function input(n: number) {
  return { ts: '2026-11-28T06:00:00Z', actor: 'alice', action: 'training.completed', subject: 'job-1', details: { n } };
}

/** A valid chain of `length` entries in scope 's'. */
function chain(length: number): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  for (let seq = 1; seq <= length; seq++) {
    const fields = parseAppendInput(input(seq));
    entries.push(sealEntry({ ...fields, scope: 's', seq, prev: entries.at(-1)?.hash ?? null }));
  }
  return entries;
}

const stored = (entries: unknown[]): StoredObject[] =>
  entries.map((body, i) => ({ key: entryKey('s', i + 1), seq: i + 1, body }));

const problems = (objects: StoredObject[]) => verifyChain('s', objects).problems.map((p) => [p.seq, p.problem]);

describe('verifyChain', () => {
  it('passes a whole chain and reports its head', () => {
    const entries = chain(3);
    expect(verifyChain('s', stored(entries))).toEqual({
      ok: true,
      scope: 's',
      entries: 3,
      head: { seq: 3, hash: entries[2].hash },
      problems: [],
    });
    expect(verifyChain('s', [])).toMatchObject({ ok: true, entries: 0, head: null });
  });

  it('reports a run of deleted entries once, as a range', () => {
    const objects = stored(chain(8)).filter((o) => o.seq! < 3 || o.seq! > 6);
    expect(verifyChain('s', objects).problems).toEqual([
      { seq: 3, problem: 'missing', message: 'entries 3 to 6 are missing (deleted)' },
    ]);
  });

  it('reports a first entry that claims a predecessor', () => {
    const [first] = chain(1);
    expect(problems(stored([sealEntry({ ...first, prev: 'f'.repeat(64) })]))).toEqual([[1, 'broken_link']]);
  });

  it('reports an entry copied in from another scope as reordered', () => {
    const entries = chain(2);
    expect(problems(stored([entries[0], sealEntry({ ...entries[1], scope: 'other' })]))).toEqual([[2, 'reordered']]);
  });

  it('reports a wrong-typed field as malformed, naming it', () => {
    const entries = chain(2);
    const report = verifyChain('s', stored([entries[0], { ...entries[1], seq: '2' }]));
    expect(report.problems).toEqual([
      expect.objectContaining({
        seq: 2,
        problem: 'malformed',
        message: expect.stringMatching(/^seq 2: not a ledger entry \(seq:/),
      }),
    ]);
  });

  it('checks an anchor: present and equal passes, different fails', () => {
    const entries = chain(3);
    expect(verifyChain('s', stored(entries), { seq: 2, hash: entries[1].hash }).ok).toBe(true);
    expect(verifyChain('s', stored(entries), { seq: 2, hash: entries[0].hash }).problems).toEqual([
      expect.objectContaining({ seq: 2, problem: 'anchor_mismatch' }),
    ]);
  });

  it('finds any single-field edit of any entry', () => {
    const entries = chain(5);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 4 }),
        fc.constantFrom('actor', 'action', 'subject', 'ts'),
        fc.string({ minLength: 1 }),
        (i, field, value) => {
          fc.pre(value !== entries[i][field]);
          const tampered = entries.map((e, j) =>
            j === i
              ? {
                  ...e,
                  [field]: field === 'ts' ? '2030-01-01T00:00:00Z' : field === 'action' ? 'model.deployed' : value,
                }
              : e,
          );
          const report = verifyChain('s', stored(tampered));
          expect(report.ok).toBe(false);
          expect(report.problems[0].seq).toBe(i + 1);
        },
      ),
    );
  });
});
