import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assembleWat } from '../../engine/runtime/wat.ts';

// Assembles the text kernel (text-kernel.wat) into gen/text-kernel.wasm, which text-kernel.ts loads.
// `npm run gen:text-kernel` writes it; a unit test (text-kernel.test.ts) fails when it is stale.

export const GENERATED = fileURLToPath(new URL('./gen/text-kernel.wasm', import.meta.url));

/** The module's bytes, as `npm run gen:text-kernel` writes them. */
export function assembleTextKernel(): Promise<Uint8Array> {
  return assembleWat(new URL('./text-kernel.wat', import.meta.url));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(GENERATED, await assembleTextKernel());
