import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileChunks } from '../../../governance/dataset/file-chunks.ts';
import { validateDataset } from '../../../governance/dataset/validate.ts';
import { pseudoRandomBytes } from './files.ts';
import { variedDataset, withBadBytes } from './varied-dataset.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-file-chunks-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function written(name: string, contents: string | Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, contents);
  return path;
}

describe('fileChunks', () => {
  it("hands over the file's bytes in order, through one buffer refilled in place", async () => {
    const bytes = pseudoRandomBytes(10_000 + 17);
    const path = await written('random.bin', bytes);
    const copies: Uint8Array[] = [];
    const buffers = new Set<ArrayBufferLike>();
    for await (const chunk of fileChunks(path, 4096)) {
      copies.push(chunk.slice());
      buffers.add(chunk.buffer);
    }
    expect(copies.map((c) => c.length)).toEqual([4096, 4096, 1825]);
    expect(Buffer.concat(copies)).toEqual(Buffer.from(bytes));
    expect(buffers.size).toBe(1);
  });

  it('hands over nothing for an empty file', async () => {
    const path = await written('empty.jsonl', '');
    const chunks: Uint8Array[] = [];
    for await (const chunk of fileChunks(path)) chunks.push(chunk);
    expect(chunks).toEqual([]);
  });

  it('gives validation the report a read stream gives, with lines cut across refills', async () => {
    const data = variedDataset();
    const paths = {
      train: await written('train.jsonl', withBadBytes(data.train)),
      eval: await written('eval.jsonl', data.eval),
      ood: await written('ood.jsonl', data.ood),
    };
    expect((await readFile(paths.train)).length).toBeGreaterThan(7 * 1000);
    const options = { manifest: { licence: 'MIT' } };
    const streamed = await validateDataset(
      { train: createReadStream(paths.train), eval: createReadStream(paths.eval), ood: createReadStream(paths.ood) },
      options,
    );
    for (const size of [7, 4096]) {
      const chunked = await validateDataset(
        { train: fileChunks(paths.train, size), eval: fileChunks(paths.eval, size), ood: fileChunks(paths.ood, size) },
        options,
      );
      expect(chunked).toEqual(streamed);
    }
  });
});
