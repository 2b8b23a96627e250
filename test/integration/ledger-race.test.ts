// Eight processes append to one tenant's ledger at once, through the tenant's ledger writer workflow (served by
// the harness's `ledger` worker): one linear chain comes out, with every entry present exactly once.
// bench/ledger-race.ts repeats this race (and the one without the writer, which forks) and counts the passes.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { raceHeld, runLedgerRace } from '../helpers/ledger-race.ts';
import { stack } from '../helpers/stack.ts';

const PROCESSES = 8;
const PER_PROCESS = 10;

describe('the ledger across processes', () => {
  it('8 processes appending at once leave one linear chain with every entry', { timeout: 120_000 }, async () => {
    const scope = `race-${randomUUID().slice(0, 8)}`;
    const result = await runLedgerRace({
      stack: stack(),
      scope,
      processes: PROCESSES,
      perProcess: PER_PROCESS,
      mode: 'writer',
    });
    expect(result.failures).toEqual([]);
    expect(result.report.problems).toEqual([]);
    expect(result.lost).toEqual([]);
    expect(result.doubled).toEqual([]);
    expect(result.report).toMatchObject({ ok: true, entries: PROCESSES * PER_PROCESS });
    expect(result.report.head?.seq).toBe(PROCESSES * PER_PROCESS);
    expect(raceHeld(result, PROCESSES * PER_PROCESS)).toBe(true);
  });
});
