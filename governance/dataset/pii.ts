// Pattern-based PII detection. Patterns have no nested quantifiers, so a 1 MB record cannot make them
// backtrack for long; card numbers must also pass the Luhn check.

export type PiiKind = 'email' | 'phone' | 'card';

const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}/;

// North-American style (555) 123-4567 / 555-123-4567 / 555.123.4567, optionally +1, and international
// numbers written with a leading + and separated groups. Separators are required: bare 10-digit runs are
// far more often ids than phone numbers.
const PHONE =
  /(?<![\w+])(?:\+?1[ .-])?(?:\(\d{3}\) ?|\d{3}[.-])\d{3}[.-]\d{4}(?!\d)|(?<![\w+])\+\d{1,3}(?:[ .-]\d{1,4}){2,5}(?!\d)/;

// Card numbers as people write them: 13 to 19 digits in one run, in groups of four (the last group shorter)
// or Amex's 4-6-5, with one kind of separator. Issuer ranges start with 2 to 6, which rules out most
// ids; grouping rules out hex dumps ("00 00 00 ...") that would pass the Luhn check.
const CARD_CANDIDATE =
  /(?<![\d-])(?:[2-6]\d{12,18}|[2-6]\d{3}([ -])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?|3\d{3}([ -])\d{6}\2\d{5})(?![\d-])/g;

export function findPii(text: string): Set<PiiKind> {
  const kinds = new Set<PiiKind>();
  if (text.includes('@') && EMAIL.test(text)) kinds.add('email');
  if (PHONE.test(text)) kinds.add('phone');
  if (hasCardNumber(text)) kinds.add('card');
  return kinds;
}

function hasCardNumber(text: string): boolean {
  for (const match of text.matchAll(CARD_CANDIDATE)) {
    if (luhnValid(match[0].replace(/[ -]/g, ''))) return true;
  }
  return false;
}

export function luhnValid(digits: string): boolean {
  if (!/^\d{13,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
