import type { Graph, Model } from './types.ts';

/**
 * Opset 20 is the first with Gelu as a standard op and has every op the autodiff rules emit;
 * ONNX Runtime 1.30 supports it. Builders use it unless they need otherwise.
 */
export const DEFAULT_OPSET = 20;
/** IR version 9 goes with opsets 19–20 (onnx/docs/Versioning.md). */
export const DEFAULT_IR_VERSION = 9;

export function createModel(graph: Graph, opts: Partial<Omit<Model, 'graph'>> = {}): Model {
  return {
    graph,
    opset: opts.opset ?? DEFAULT_OPSET,
    irVersion: opts.irVersion ?? DEFAULT_IR_VERSION,
    producer: opts.producer ?? 'ratchet',
    metadata: opts.metadata ?? {},
    ...(opts.extraOpsets ? { extraOpsets: opts.extraOpsets } : {}),
  };
}
