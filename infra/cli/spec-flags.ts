// The CLI's flags as another spelling of the job spec (core/jobs/spec.ts): each flag names the spec field it sets,
// and the spec's schema fills in the defaults and checks the ranges. So `--lr` means what the API's
// `training.config.lr` means, and an error names the flag the user typed.
import type { z } from 'zod';

/** How a flag's text becomes the field's value before the schema checks it. */
type Reading = 'int' | 'number' | 'string' | 'ints' | 'pair';

export type SpecFlag = { field: string; reads: Reading };

/**
 * Flags that each set the field their name spells in camelCase, under `prefix`: with 'config.', `--max-steps` sets
 * `config.maxSteps`. A flag named otherwise than its field is written out as a SpecFlag.
 */
export function fieldFlags<const F extends string>(prefix: string, reads: Record<F, Reading>): Record<F, SpecFlag> {
  const field = (flag: string) => prefix + flag.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase());
  return Object.fromEntries(
    Object.entries<Reading>(reads).map(([flag, reading]) => [flag, { field: field(flag), reads: reading }]),
  ) as Record<F, SpecFlag>;
}

const readers: Record<Reading, (flag: string, text: string) => unknown> = {
  int: (flag, text) => {
    if (!/^\d+$/.test(text.trim())) throw new Error(`--${flag} must be an integer, got '${text}'`);
    return Number(text);
  },
  number: (flag, text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`--${flag} must be a number, got '${text}'`);
    return n;
  },
  string: (_flag, text) => text,
  ints: (flag, text) => text.split(',').map((item) => readers.int(flag, item)),
  pair: (flag, text) => {
    const items = text.split(',');
    if (items.length !== 2) throw new Error(`--${flag} must be two integers A,B, got '${text}'`);
    return items.map((item) => readers.int(flag, item));
  },
};

/** The spec input the given flags spell: each flag's value at its field (dotted path), nothing else. */
export function inputOf(table: Record<string, SpecFlag>, opts: Record<string, string | undefined>) {
  const input: Record<string, unknown> = {};
  for (const [flag, { field, reads }] of Object.entries(table)) {
    const text = opts[flag];
    if (text === undefined) continue;
    const path = field.split('.');
    let at = input;
    for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
    at[path.at(-1)!] = readers[reads](flag, text);
  }
  return input;
}

/** `schema` applied to the flags' input; a problem is reported against the flag that set the field, `where` says
 * what a flag of the wrong kind does not apply to. */
export function parseFlags<S extends z.ZodType>(
  schema: S,
  table: Record<string, SpecFlag>,
  input: unknown,
  where = 'here',
): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const flagOf = (path: PropertyKey[]) => {
    const field = path.join('.');
    const flag = Object.entries(table).find(([, f]) => f.field === field)?.[0];
    return flag ? `--${flag}` : field;
  };
  const problems = parsed.error.issues.map((issue) =>
    issue.code === 'unrecognized_keys'
      ? `${issue.keys.map((key) => flagOf([...issue.path, key])).join(', ')} do not apply ${where}`
      : `${flagOf(issue.path)}: ${issue.message}`,
  );
  throw new Error(problems.join('; '));
}
