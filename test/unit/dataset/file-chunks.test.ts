import { createReadStream, readdirSync, readlinkSync } from 'node:fs';
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

/** This process's open file descriptors on `path` (Linux's /proc). */
function openDescriptorsOf(path: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false; // the descriptor readdir itself used, closed since
    }
  }).length;
}

describe('fileChunks', () => {
  it("hands over the file's bytes in order, through two buffers refilled in turn", async () => {
    const bytes = pseudoRandomBytes(10_000 + 17);
    const path = await written('random.bin', bytes);
    const copies: Uint8Array[] = [];
    const buffers = new Set<ArrayBufferLike>();
    let at = 0;
    for await (const chunk of fileChunks(path, 4096)) {
      // The next chunk is read meanwhile, into the other buffer: this one holds until the next is asked for.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(Buffer.from(chunk).equals(Buffer.from(bytes.subarray(at, at + chunk.length)))).toBe(true);
      at += chunk.length;
      copies.push(chunk.slice());
      buffers.add(chunk.buffer);
    }
    expect(copies.map((c) => c.length)).toEqual([4096, 4096, 1825]);
    expect(Buffer.concat(copies)).toEqual(Buffer.from(bytes));
    expect(buffers.size).toBe(2);
  });

  it('closes the file when the reader stops early, with a read under way', async () => {
    const path = await written('early.bin', pseudoRandomBytes(64 * 1024));
    for await (const chunk of fileChunks(path, 4096)) {
      expect(chunk.length).toBe(4096);
      expect(openDescriptorsOf(path)).toBe(1);
      break;
    }
    expect(openDescriptorsOf(path)).toBe(0);
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
