// Reading tar archives (a Hugging Face directory uploaded as one file), plain or gzipped: 512-byte headers, each
// followed by its file's bytes padded to 512. Only regular files are kept; a header whose checksum is wrong or a
// file that runs past the end (a truncated upload) is an error naming the entry, never a shorter file.
import { gunzipSync } from 'node:zlib';
import { InvalidInput } from '../invalid-input.ts';

const BLOCK = 512;

/** The archive's regular files by path, a leading `./` dropped. */
export function readTar(archive: Uint8Array, source: string): Map<string, Uint8Array> {
  const fail = (problem: string) => new InvalidInput(`${source}: not a readable tar archive (${problem})`);
  let bytes = archive;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw fail(`gzip: ${(error as Error).message}`);
    }
  }
  const text = (at: number, length: number) => {
    const raw = bytes.subarray(at, at + length);
    const end = raw.indexOf(0);
    return Buffer.from(end < 0 ? raw : raw.subarray(0, end)).toString('utf8');
  };
  const octal = (at: number, length: number) => parseInt(text(at, length).trim() || '0', 8);
  const files = new Map<string, Uint8Array>();
  let longName: string | undefined;
  let at = 0;
  for (;;) {
    if (at + BLOCK > bytes.length) throw fail(`ends inside a header at byte ${at}`);
    const header = bytes.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i];
    if (sum !== octal(at + 148, 8)) throw fail(`bad header checksum at byte ${at}`);
    const type = String.fromCharCode(header[156] || 48);
    const prefix = text(at + 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(at, 100)}` : text(at, 100));
    longName = undefined;
    const size = octal(at + 124, 12);
    const start = at + BLOCK;
    if (!Number.isSafeInteger(size) || start + size > bytes.length) {
      throw fail(`${name}: ${size} bytes announced, ${Math.max(0, bytes.length - start)} present (truncated?)`);
    }
    const body = bytes.subarray(start, start + size);
    if (type === 'L') longName = text(start, size);
    else if (type === '0' || type === '7') files.set(name.replace(/^\.\//, ''), body);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
  }
  return files;
}

/** A tar archive of `files` (paths to bytes), as `readTar` reads it: ustar headers, names up to 100 bytes. */
export function writeTar(files: Iterable<[string, Uint8Array]>): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const [name, body] of files) {
    if (Buffer.byteLength(name) > 100) throw new InvalidInput(`${name}: tar names here are at most 100 bytes`);
    const header = Buffer.alloc(BLOCK);
    header.write(name, 0);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(body.length.toString(8).padStart(11, '0') + '\0', 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0' + '00', 257);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(header, body, new Uint8Array((BLOCK - (body.length % BLOCK)) % BLOCK));
  }
  blocks.push(new Uint8Array(2 * BLOCK));
  return Buffer.concat(blocks);
}
