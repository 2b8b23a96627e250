// Models written by torch.onnx.export (test/fixtures/onnx/export_torch.py) at opsets 13–20: Ratchet imports them,
// ORT runs them, and addGradients differentiates them; output and parameter gradients must match torch's.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addGradients } from '../../engine/autodiff/index.ts';
import { GraphBuilder, decodeModel, encodeModel, inferShapes, tensor } from '../../engine/ir/index.ts';
import { loadModel } from '../../engine/onnx/load.ts';
import { createSession, toOrt } from '../../engine/runtime/session.ts';
import { close, matchTorchParams, torchGradientOf } from '../helpers/torch-onnx.ts';

interface TorchRecord {
  input: { dims: number[]; dtype: 'float32' | 'int64'; data: number[] };
  output: { dims: number[]; data: number[] };
  weights: number[];
  params: Record<string, { dims: number[]; data: number[] }>;
  grads: Record<string, number[]>;
}

const fixture = (file: string) => new URL(`../fixtures/onnx/${file}`, import.meta.url);

// [model, file suffix, opset]: the TorchScript-based exporter at 13–20, the torch.export-based one (torch's
// default since 2.9, which writes the weights to a .onnx.data file beside the model) at 18.
const cases = [
  ['mlp', 'opset13', 13],
  ['mlp', 'opset17', 17],
  ['mlp', 'opset20', 20],
  ['mlp', 'dynamo-opset18', 18],
  ['encoder', 'opset14', 14],
  ['encoder', 'opset17', 17],
  ['encoder', 'opset20', 20],
  ['encoder', 'dynamo-opset18', 18],
] as const;

describe('torch.onnx.export models', () => {
  it('refuses external data it is given no way to read, or too few bytes of', () => {
    const bytes = readFileSync(fixture('encoder-dynamo-opset18.onnx'));
    expect(() => decodeModel(bytes)).toThrow(/keeps its data in the file 'encoder-dynamo-opset18.onnx.data'/);
    expect(() => decodeModel(bytes, { externalData: () => new Uint8Array(4) })).toThrow(/reads bytes .* \(4 bytes\)/);
  });

  for (const [name, suffix, opset] of cases) {
    it(`${name}-${suffix}: import, forward and gradients match torch`, async () => {
      const record: TorchRecord = JSON.parse(readFileSync(fixture(`${name}.json`), 'utf8'));
      const model = loadModel(fileURLToPath(fixture(`${name}-${suffix}.onnx`)));
      expect(model.opset).toBe(opset);
      expect(model.graph.inputs[0].shape[0]).toBe('batch');
      expect(inferShapes(model.graph).get('output')?.shape).toEqual(model.graph.outputs[0].shape);

      // Every torch parameter is an initializer (some transposed); differentiate w.r.t. all of them.
      const matched = matchTorchParams(model.graph.initializers, record.params);
      expect(matched.flatMap((m) => m.names).sort()).toEqual(Object.keys(record.params).sort());

      const b = new GraphBuilder(model.graph);
      const weights = b.constant(tensor('float32', record.output.dims, record.weights), 'weights');
      const loss = b.op('ReduceSum', [b.op('Mul', [model.graph.outputs[0].name, weights])], { keepdims: 0 }, 'loss');
      const grads = addGradients(model.graph, { loss, wrt: matched.map((m) => m.init), opset });
      for (const m of matched) {
        const t = model.graph.initializers.get(m.init)!;
        model.graph.outputs.push({ name: grads.get(m.init)!, dtype: 'float32', shape: t.dims });
      }

      const { session } = await createSession(decodeModel(encodeModel(model)));
      const input = tensor(record.input.dtype, record.input.dims, record.input.data);
      const out = await session.run({ input: toOrt(input) });
      expect(close(Array.from(out.output.data as Float32Array), record.output.data, 1e-5)).toBe(true);
      for (const m of matched) {
        const ours = Array.from(out[grads.get(m.init)!].data as Float32Array);
        const theirs = torchGradientOf(m, record.params, record.grads, ours.length);
        expect(close(ours, theirs, 1e-4), `gradient of ${m.names.join(' + ')} (${m.init})`).toBe(true);
      }
      await session.release();
    });
  }
});
