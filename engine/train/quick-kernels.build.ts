import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assembleWat } from '../runtime/wat.ts';

// Assembles the quick fastText's kernels (quick-kernels.wat, WebAssembly text) into gen/quick-kernels.wasm, which
// quick-fasttext.ts loads. `npm run gen:quick-kernels` writes it; a unit test (quick-fasttext.test.ts) fails when
// it is stale.

export const GENERATED = fileURLToPath(new URL('./gen/quick-kernels.wasm', import.meta.url));

/** The module's bytes, as `npm run gen:quick-kernels` writes them. */
export function assembleQuickKernels(): Promise<Uint8Array> {
  return assembleWat(new URL('./quick-kernels.wat', import.meta.url));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(GENERATED, await assembleQuickKernels());
