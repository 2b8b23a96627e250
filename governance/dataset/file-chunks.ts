import { open } from 'node:fs/promises';

// A file's bytes as validateDataset reads them, through two buffers refilled in place. A read stream hands over a
// fresh buffer per chunk (3,200 for 200 MB) that lingers until the garbage collector runs: tens of MB of a
// validation's peak (docs/VALIDATION.md, "Memory and speed"). Each chunk is valid only until the next is asked
// for, which is how validateDataset reads its sources. The next chunk is read while the caller works on this one:
// read one at a time, the scan of millions of short records waited on the disk for a tenth of its time.

export async function* fileChunks(path: string, chunkBytes = 1 << 18): AsyncGenerator<Uint8Array> {
  const file = await open(path, 'r');
  const buffers = [new Uint8Array(chunkBytes), new Uint8Array(chunkBytes)];
  let reading = file.read(buffers[0], 0, chunkBytes, null);
  try {
    for (let next = 1; ; next ^= 1) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) return;
      // The caller is done with the other buffer once it asks for this chunk.
      reading = file.read(buffers[next], 0, chunkBytes, null);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    // A read still under way when the caller stops early is awaited before the file closes under it.
    await reading.catch(() => undefined);
    await file.close();
  }
}
