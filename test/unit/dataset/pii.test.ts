import { describe, expect, it } from 'vitest';
import { normaliseText } from '../../../governance/dataset/normalise.ts';
import { findPii, luhnValid } from '../../../governance/dataset/pii.ts';

const kinds = (text: string) => [...findPii(text)].sort();

describe('findPii', () => {
  it('finds email addresses', () => {
    expect(kinds('write to jane.doe+list@mail.example.co.uk today')).toEqual(['email']);
    expect(kinds('an @ sign alone, or user@localhost, is not one')).toEqual([]);
  });

  it('finds phone numbers in the usual written forms', () => {
    for (const phone of ['(555) 123-4567', '555-123-4567', '555.123.4567', '1-800-555-0199', '+44 20 7946 0958']) {
      expect(kinds(`call ${phone} now`), phone).toEqual(['phone']);
    }
  });

  it('does not take dates, times, versions, IP addresses or bare ids for phone numbers', () => {
    const text = 'Thu, 22 Aug 2002 13:17:21 +0100 v1.2.3 from 193.120.211.219 id 5551234567 on 2002-08-22';
    expect(kinds(text)).toEqual([]);
  });

  it('finds Luhn-valid card numbers, grouped or not, and ignores invalid ones', () => {
    expect(kinds('card 4111 1111 1111 1111 exp 12/29')).toEqual(['card']);
    expect(kinds('card 5500-0000-0000-0004')).toEqual(['card']);
    expect(kinds('card 378282246310005')).toEqual(['card']);
    expect(kinds('order 4111 1111 1111 1112')).toEqual([]);
  });

  it('does not take hex dumps, odd groupings or ids outside issuer ranges for card numbers', () => {
    // Each digit string below passes the Luhn check; only the shape rules them out.
    expect(luhnValid('0000000000000000')).toBe(true);
    expect(kinds('dump: 00 00 00 00 00 00 00 00 00')).toEqual([]);
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(kinds('ref 4111 11 1111 1111 11')).toEqual([]);
    expect(luhnValid('9111111111111110')).toBe(true);
    expect(kinds('tracking 9111111111111110')).toEqual([]);
  });

  it('reports every kind present in one text', () => {
    expect(kinds('a@b.io, 555-123-4567, 4111111111111111')).toEqual(['card', 'email', 'phone']);
  });

  it('stays linear on a long adversarial run of digits and separators', () => {
    // Linear matching takes about half a second of CPU here; a pattern that backtracked over these runs would be
    // quadratic in them. CPU time, not wall time, so that other processes on the machine cannot fail the test.
    const text = '1-'.repeat(500_000) + 'a'.repeat(100_000) + '@'.repeat(100_000);
    const start = process.cpuUsage();
    findPii(text);
    const { user, system } = process.cpuUsage(start);
    expect((user + system) / 1000).toBeLessThan(2000);
  });
});

describe('luhnValid', () => {
  it('accepts known test numbers and rejects a changed digit or a wrong length', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('6011111111111117')).toBe(true);
    expect(luhnValid('4111111111111121')).toBe(false);
    expect(luhnValid('0000000000')).toBe(false);
  });
});

describe('normaliseText', () => {
  it('drops case, punctuation, symbols and digits, and collapses whitespace', () => {
    expect(normaliseText('  Hello,\tWORLD!!  Order #12345 — $9.99 ')).toBe('hello world order');
    expect(normaliseText('Grüße, Zoë')).toBe('grüße zoë');
  });
});
