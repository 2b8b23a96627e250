// Near duplicates are texts equal after this normalisation: case, whitespace, punctuation, symbols and
// digits are the parts that differ between copies of one message (re-sent spam, quoted dates, order numbers).
export function normaliseText(text: string): string {
  // One pass: a run of whitespace, punctuation, symbols and digits becomes one space.
  return text
    .toLowerCase()
    .replace(/[\s\p{P}\p{S}\p{N}]+/gu, ' ')
    .trim();
}
