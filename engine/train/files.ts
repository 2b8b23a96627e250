import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseTabularJsonl, type ParseOptions, type TabularDataset } from '../data/index.ts';
import { sha256 } from '../export/inference.ts';
import { InvalidInput } from '../invalid-input.ts';
import { parseTextJsonl, type TextDataset } from '../text/dataset.ts';

/** A file's bytes, or an error that says which flag's file is missing. */
export async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `${what} file not found: ${path}` : `cannot read ${what} file ${path} (${code})`,
    );
  }
}

/** A dataset file parsed, and the SHA-256 of its bytes. */
export interface Loaded<D> {
  data: D;
  sha256: string;
}

/** A JSONL feature dataset; with `labelNames` its labels are indexed by that map (a label outside it is an error). */
export function loadData(path: string, what: string, labelNames?: string[]): Promise<Loaded<TabularDataset>> {
  return loadJsonl(path, what, labelNames, parseTabularJsonl);
}

/** A JSONL text dataset (`{"text", "label"}`); `labelNames` as for `loadData`. */
export function loadTexts(path: string, what: string, labelNames?: string[]): Promise<Loaded<TextDataset>> {
  return loadJsonl(path, what, labelNames, parseTextJsonl);
}

async function loadJsonl<D>(
  path: string,
  what: string,
  labelNames: string[] | undefined,
  parse: (text: string, options: ParseOptions) => D,
): Promise<Loaded<D>> {
  const bytes = await readInput(path, what);
  const data = parse(new TextDecoder().decode(bytes), { labelNames, source: basename(path) });
  return { data, sha256: sha256(bytes) };
}

export function checkWidth(data: TabularDataset, inputs: number, what: string): void {
  if (data.width !== inputs) {
    throw new InvalidInput(`the ${what} data has ${data.width} features per row, the model takes ${inputs}`);
  }
}
