// Datasets as real files on disk, streamed back the way the activity streams S3 objects.
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateDataset, type ValidateOptions } from '../../../governance/dataset/validate.ts';

export type FileContents = string | Uint8Array;

export function jsonl(records: unknown[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** Writes the files to a fresh temporary directory, validates them from disk, and removes the directory. */
export async function validateFiles(
  files: { train: FileContents; eval?: FileContents; ood?: FileContents },
  options: ValidateOptions = {},
) {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-validate-'));
  try {
    const sources: Record<string, AsyncIterable<Uint8Array>> = {};
    for (const [name, contents] of Object.entries(files)) {
      if (contents === undefined) continue;
      const path = join(dir, `${name}.jsonl`);
      await writeFile(path, contents);
      sources[name] = createReadStream(path);
    }
    return await validateDataset(sources as Parameters<typeof validateDataset>[0], options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Deterministic bytes that look like a compressed or binary file (xorshift, so the test is reproducible). */
export function pseudoRandomBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
