import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

// Assembles the quick fastText's kernels (quick-kernels.wat, WebAssembly text) into gen/quick-kernels.wasm, which
// quick-fasttext.ts loads. `npm run gen:quick-kernels` writes it; a unit test (quick-fasttext.test.ts) fails when
// it is stale, so the product needs no assembler at run time.

export const GENERATED = fileURLToPath(new URL('./gen/quick-kernels.wasm', import.meta.url));
const SOURCE = fileURLToPath(new URL('./quick-kernels.wat', import.meta.url));

/** The module's bytes, as `npm run gen:quick-kernels` writes them. */
export async function assembleQuickKernels(): Promise<Uint8Array> {
  const module = (await wabt()).parseWat('quick-kernels.wat', readFileSync(SOURCE, 'utf8'), { simd: true });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(GENERATED, await assembleQuickKernels());
