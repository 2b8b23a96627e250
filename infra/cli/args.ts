import { parseArgs, type ParseArgsConfig } from 'node:util';
import * as ort from 'onnxruntime-node';

/** `--name value` options, every one a string, for parseOptions; the command parses and checks the values. */
export function stringOptions<N extends string>(...names: N[]): Record<N, { type: 'string' }> {
  return Object.fromEntries(names.map((name) => [name, { type: 'string' }])) as Record<N, { type: 'string' }>;
}

/** Parsed `--name value` options, or an error naming the unknown or malformed option. */
export function parseOptions<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O) {
  return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
}

export function positiveInt(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) throw new Error(`${flag} must be a positive integer, got '${text}'`);
  return n;
}

export function nonNegativeInt(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new Error(`${flag} must be a non-negative integer, got '${text}'`);
  return Number(text);
}

export function number(flag: string, text: string | undefined, check: (n: number) => boolean, want: string) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || !check(n)) throw new Error(`${flag} must be ${want}, got '${text}'`);
  return n;
}

export function oneOf<T extends string>(flag: string, text: string | undefined, choices: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!choices.includes(text as T)) throw new Error(`${flag} must be one of ${choices.join('|')}, got '${text}'`);
  return text as T;
}

/**
 * Runs a command body: `--help` prints `usage`; any error becomes one line on stderr (`ratchet <command>: <message>`)
 * and exit code 1.
 */
export async function runCommand(
  command: string,
  usage: string,
  args: string[],
  body: () => Promise<number>,
): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return 0;
  }
  // ONNX Runtime's native logger would print its own multi-line copy of every error to stderr; the thrown error
  // carries the message, which becomes the one line below.
  ort.env.logLevel = 'fatal';
  try {
    return await body();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    console.error(`ratchet ${command}: ${message.split('\n')[0]}`);
    return 1;
  }
}
