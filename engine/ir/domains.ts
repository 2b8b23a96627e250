/**
 * The ONNX domain of the engine's own kernels (engine/runtime/native/kernels.c): only training graphs use it, and
 * only the native runner's sessions know it. Exported models never contain it.
 */
export const RATCHET_DOMAIN = 'ai.ratchet';
