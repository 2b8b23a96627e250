// A seeded dataset with every kind of line the validator reads differently: plain ASCII records (read from their
// bytes) beside the same texts escaped, non-ASCII, malformed or oddly shaped (parsed), with exact and near
// duplicates across both, PII, conflicting labels and contamination. test/fixtures/validation/ holds the reports
// the validator gave on it before it read ASCII records from their bytes; validate-equivalence.test.ts checks that
// it still gives exactly those.

const WORDS = (
  'free offer click money account meeting report patch server build release thanks please the of and to a in ' +
  'is you that it for on are with as this be at have from'
).split(' ');
const ODD = ['café', 'naïve', 'Straße', '日本語', '😀', '\u00a0', '１２３', '—', 'ÉCOLE'];

export type VariedDataset = { train: string; eval: string; ood: string };

/** With `malformed` false: only usable records, so that nothing blocks the mislabel check. */
export function variedDataset({ seed = 0x2545f491, malformed = true } = {}): VariedDataset {
  let state = seed;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const sentence = () => {
    const words = Array.from({ length: 2 + Math.floor(random() * 12) }, () => pick(WORDS));
    if (random() < 0.3) words.push(String(Math.floor(random() * 100_000)));
    if (random() < 0.2) words[0] = words[0].toUpperCase();
    return words.join(pick([' ', ' ', ' ', '  ', ', ', '. ', ' - ']));
  };
  const label = () => (random() < 0.35 ? 'spam' : 'ham');
  const texts: string[] = [];

  const line = (file: 'train' | 'eval' | 'ood', i: number): string => {
    const r = random();
    const text = sentence();
    const withLabel = file === 'ood' ? {} : { label: label() };
    if (r < 0.45) {
      texts.push(text);
      return JSON.stringify({ text, ...withLabel });
    }
    if (r < 0.55 && texts.length > 0) return JSON.stringify({ text: pick(texts), ...withLabel }); // exact repeat
    if (r < 0.62 && texts.length > 0) {
      // a near repeat: other case, punctuation and digits
      const near = pick(texts).toUpperCase().replaceAll(' ', ' ... ') + ` #${i}`;
      return JSON.stringify({ text: near, ...withLabel });
    }
    if (r < 0.66 && texts.length > 0) {
      // an ASCII text written with escapes: parsed, and still a duplicate of its plain copy
      const escaped = JSON.stringify(pick(texts)).replace(/[aeiou]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
      return `{"text":${escaped}${file === 'ood' ? '' : `,"label":"${label()}"`}}`;
    }
    if (r < 0.72) return JSON.stringify({ text: `${text} ${pick(ODD)} ${pick(ODD)}`, ...withLabel });
    if (r < 0.76) return JSON.stringify({ text: `${text} "quoted" back\\slash\nnew line\ttab`, ...withLabel });
    if (r < 0.8) {
      const pii = pick([
        `mail me at user${i}@example.com`,
        'call 555-123-4567',
        'call (555) 123-4567 now',
        'ring +44 20 7946 0958',
        'card 4111 1111 1111 1111',
        'card 4111111111111111',
        'order 12345678 shipped',
        'user@localhost',
        'a+b=c',
      ]);
      return JSON.stringify({ text: `${text} ${pii}`, ...withLabel });
    }
    if (r < 0.84 || !malformed) {
      // the same record, spaced and ordered otherwise
      const l = file === 'ood' ? '' : ` ,\t"label" :"${label()}"`;
      const variants = [
        ` { "text" : ${JSON.stringify(text)}${l} } `,
        `{"id":"${i}",${file === 'ood' ? '' : `"label":"${label()}",`}"text":${JSON.stringify(text)}}`,
        `{"text":${JSON.stringify(text)}${file === 'ood' ? '' : `,"label":"${label()}"`},"slice":"${pick(['eu', 'us'])}"}\r`,
        `{"text":${JSON.stringify(text)}${l},"n":${pick(['1', 'true', 'null', '[1]', '{"a":1}', '-0.5e2'])}}`,
      ];
      if (!malformed) return pick(variants);
      return pick([
        ...variants,
        `{"text":${JSON.stringify(text)},"label":${Math.floor(random() * 2)}}`,
        `{"text":${JSON.stringify(text)},"label":"ham","slice":${pick(['0', '1.5', '-2e3', '""', 'null', '1e999'])}}`,
        `{"text":${JSON.stringify(text)},"label":"spam","n":01}`,
      ]);
    }
    // a line that is wrong in some way, or an unusual shape
    return pick([
      '',
      '   ',
      '[]',
      '{}',
      '{"text":""}',
      '{"text":"   ","label":"ham"}',
      `{"text":"${text}","label":"${'x'.repeat(300)}"}`,
      `{"text":"${text}","label":null}`,
      `{"text":"${text}"}`,
      `{"text":"${text}","label":"ham"`,
      `{"text":"${text}","text":"${sentence()}","label":"spam"}`,
      `{"text":"${text}","features":[1,2],"label":"ham"}`,
      `{"features":[1,2,3],"label":"ham"}`,
      `{"text":42,"label":"ham"}`,
      `{"text":"${text}","label":true}`,
      `{"text":"${text}\u0001","label":"ham"}`,
      `{"text":"${text}	tab","label":"ham"}`,
      `\ufeff{"text":"${text}","label":"spam"}`,
      `{"text":"${text}","label":"spam"} trailing`,
      `{"text":"${text}","label":"spam",}`,
      `{"text":"${text}","label":"spam","slice":""}`,
    ]);
  };

  const file = (name: 'train' | 'eval' | 'ood', n: number) =>
    Array.from({ length: n }, (_, i) => line(name, i)).join(name === 'eval' ? '\r\n' : '\n') + '\n';
  const train = file('train', 3000);
  return { train, eval: file('eval', 600), ood: file('ood', 300) };
}

/** Bytes that are not UTF-8, and control bytes: each becomes a finding of its own. */
export function withBadBytes(jsonl: string): Uint8Array {
  const text = new TextEncoder().encode(jsonl);
  const bad = new Uint8Array([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]);
  const out = new Uint8Array(text.length + bad.length);
  out.set(text);
  out.set(bad, text.length);
  return out;
}
