// What every API command shares: `--help`, one error line instead of a stack, and `--json` for scripts.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { apiClient, type ApiClient } from './api-client.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

export type Invocation = {
  api: ApiClient;
  /** Options by name: a string, or true for a flag; undefined when not given. */
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Prints `value` as JSON under --json, else the human form `text` gives. */
  print: (value: unknown, text: () => string) => void;
};

export async function apiCommand(
  name: string,
  usage: string,
  args: string[],
  options: Options,
  body: (invocation: Invocation) => Promise<number>,
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return 0;
  }
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, json: { type: 'boolean' } },
      strict: true,
      allowPositionals: true,
    });
    const print = (value: unknown, text: () => string) =>
      console.log(values.json ? JSON.stringify(value, null, 2) : text());
    return await body({ api: apiClient(), values: values as Invocation['values'], positionals, print });
  } catch (error) {
    console.error(`ratchet ${name}: ${(error as Error).message.split('\n')[0]}`);
    return 1;
  }
}

/** The positional at `index`, or an error saying which one is missing. */
export function required(positionals: string[], index: number, what: string): string {
  const value = positionals[index];
  if (value === undefined) throw new Error(`missing ${what} (see --help)`);
  return value;
}

/** Rows as aligned columns under a header. */
export function table(header: string[], rows: string[][]): string {
  if (rows.length === 0) return '(none)';
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
