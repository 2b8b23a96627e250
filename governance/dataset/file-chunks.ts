import { open } from 'node:fs/promises';

// A file's bytes as validateDataset reads them, through one buffer refilled in place. A read stream hands over a
// fresh buffer per chunk (3,200 for 200 MB) that lingers until the garbage collector runs: tens of MB of a
// validation's peak (docs/VALIDATION.md, "Memory and speed"). Each chunk is valid only until the next is asked
// for, which is how validateDataset reads its sources.

export async function* fileChunks(path: string, chunkBytes = 1 << 16): AsyncGenerator<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const buffer = new Uint8Array(chunkBytes);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}
