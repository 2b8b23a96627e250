// Normalisation and word splitting shared by the WordPiece tokeniser and the hashed n-gram features, so both
// models see a text the same way: NFKC, lower case, then runs of letters/digits and single other symbols.

/**
 * NFKC folds compatibility forms (full-width letters, ligatures) into their plain forms; lower-casing follows
 * JavaScript's locale-independent `toLowerCase`, so the result is the same on every machine.
 */
export function normalise(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

// A word is a run of letters, marks and digits; any other visible character (punctuation, symbol) is a word of its own.
const WORD = /[\p{L}\p{M}\p{N}]+|[^\s\p{L}\p{M}\p{N}]/gu;

/** The words of a normalised text, in order. */
export function words(text: string): string[] {
  return normalise(text).match(WORD) ?? [];
}
