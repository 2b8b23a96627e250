import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

// Assembles a WebAssembly text module (.wat) into its binary, for the build scripts beside each kernel
// (engine/train/quick-kernels.build.ts, governance/dataset/text-kernel.build.ts). The binaries are committed under
// gen/ and a unit test per kernel fails when one is stale, so the product needs no assembler at run time.

/** The module's bytes; SIMD and bulk memory (memory.copy) enabled. */
export async function assembleWat(source: URL): Promise<Uint8Array> {
  const path = fileURLToPath(source);
  const module = (await wabt()).parseWat(basename(path), readFileSync(path, 'utf8'), {
    simd: true,
    bulk_memory: true,
  });
  try {
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}
