import { Rng } from '../data/rng.ts';
import { GraphBuilder, createModel, emptyGraph, type Model } from '../ir/index.ts';
import { linearInit } from './init.ts';
import { FEATURES, LOGITS } from './layout.ts';

export interface MlpSpec {
  inputs: number;
  hidden: number[];
  classes: number;
  seed: number;
}

/**
 * An MLP classifier `features` [batch, inputs] → `logits` [batch, classes]: Linear, ReLU, …, Linear. Parameters are
 * named as torch names an nn.Sequential's ('0.weight', '0.bias', '2.weight', …), so models built here and models
 * exported from PyTorch have one layout and the same fine-tuning code serves both.
 */
export function buildMlp(spec: MlpSpec): Model {
  const { inputs, hidden, classes, seed } = spec;
  for (const [what, n] of [
    ['inputs', inputs],
    ['classes', classes],
    ...hidden.map((h) => ['hidden', h] as const),
  ] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`MLP ${what} size must be a positive integer, got ${n}`);
  }
  const rng = Rng.fromSeed(seed);
  const b = new GraphBuilder(emptyGraph('mlp'));
  let x = b.input(FEATURES, 'float32', ['batch', inputs]);
  const widths = [inputs, ...hidden, classes];
  for (let layer = 0; layer < widths.length - 1; layer++) {
    const index = 2 * layer; // nn.Sequential index: ReLUs take the odd slots
    const { weight, bias } = linearInit(rng, widths[layer], widths[layer + 1], 'out-in');
    const w = b.initializer(`${index}.weight`, weight);
    const bias_ = b.initializer(`${index}.bias`, bias);
    const last = layer === widths.length - 2;
    x = b.op('Gemm', [x, w, bias_], { transB: 1 }, last ? LOGITS : `/${index}/Gemm_output_0`);
    if (!last) x = b.op('Relu', [x], {}, `/${index + 1}/Relu_output_0`);
  }
  b.output(LOGITS, 'float32', ['batch', classes]);
  return createModel(b.graph);
}
