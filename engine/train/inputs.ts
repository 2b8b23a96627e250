// A job's datasets as the engine takes them: JSONL as text or bytes (a file read, an S3 object body), parsed and
// hashed here. Reading them from a disk or a bucket is the caller's business.
import { basename } from 'node:path';
import { parseTabularJsonl, type TabularDataset } from '../data/index.ts';
import { sha256 } from '../export/inference.ts';
import { InvalidInput } from '../invalid-input.ts';
import { parseTextJsonl, type TextDataset } from '../text/dataset.ts';

/** An input's content: text, or its UTF-8 bytes. */
export type Bytes = Uint8Array | string;

export const bytesOf = (input: Bytes): Uint8Array =>
  typeof input === 'string' ? new TextEncoder().encode(input) : input;

/** A dataset parsed, and the sha256 of the bytes it was parsed from. */
export interface Loaded<D> {
  data: D;
  sha256: string;
}

/**
 * A JSONL feature dataset; `name` (a path, an object key) is what errors call it. With `labelNames` its labels are
 * indexed by that map (a label outside it is an error).
 */
export function loadData(input: Bytes, name: string, labelNames?: string[]): Loaded<TabularDataset> {
  return loadJsonl(input, name, labelNames, parseTabularJsonl);
}

/** A JSONL text dataset (`{"text", "label"}`); `name` and `labelNames` as for `loadData`. */
export function loadTexts(input: Bytes, name: string, labelNames?: string[]): Loaded<TextDataset> {
  return loadJsonl(input, name, labelNames, parseTextJsonl);
}

/** The input decoded as UTF-8 text (as a file's would be) and parsed; its sha256 is of the bytes. */
function loadJsonl<D>(
  input: Bytes,
  name: string,
  labelNames: string[] | undefined,
  parse: (text: string, options: { labelNames?: string[]; source: string }) => D,
): Loaded<D> {
  const bytes = bytesOf(input);
  return {
    data: parse(new TextDecoder().decode(bytes), { labelNames, source: basename(name) }),
    sha256: sha256(bytes),
  };
}

export function checkWidth(data: TabularDataset, inputs: number, what: string): void {
  if (data.width !== inputs) {
    throw new InvalidInput(`the ${what} data has ${data.width} features per row, the model takes ${inputs}`);
  }
}
