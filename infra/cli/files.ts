// `ratchet train` and `ratchet distill` at their file edge: the engine takes its inputs as bytes and hands back the
// model and metrics.json (and each checkpoint) as bytes; the commands read the files named by flags and write OUT.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A file's bytes, or an error that says which flag's file is missing. */
export async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? `${what} file not found: ${path}` : `cannot read ${what} file ${path} (${code})`,
    );
  }
}

/** OUT/model.onnx and OUT/metrics.json. */
export async function writeModel(out: string, result: { model: Uint8Array; metricsJson: string }): Promise<void> {
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'model.onnx'), result.model);
  await writeFile(join(out, 'metrics.json'), result.metricsJson);
}
