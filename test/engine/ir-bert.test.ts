// A transformers BertModel with mean pooling written by torch.onnx.export (test/fixtures/onnx/export_bert.py): the
// TorchScript-based exporter at opsets 14 (LayerNorm decomposed) and 17, the torch.export-based one at 18. Ratchet
// imports each, infers its shapes, and differentiates a classification loss through it: ORT's embeddings and the
// parameter gradients must match torch's, on the traced batch and (embeddings) on a batch of another shape.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addGradients } from '../../engine/autodiff/index.ts';
import { GraphBuilder, decodeModel, encodeModel, inferShapes, tensor } from '../../engine/ir/index.ts';
import { loadModel } from '../../engine/onnx/load.ts';
import { createSession, toOrt } from '../../engine/runtime/session.ts';
import { close, matchTorchParams, torchGradientOf, type TorchParams } from '../helpers/torch-onnx.ts';

interface Batch {
  input_ids: { dims: number[]; data: number[] };
  attention_mask: { dims: number[]; data: number[] };
  output: { dims: number[]; data: number[] };
}

interface BertRecord extends Batch {
  head: { weight: { dims: number[]; data: number[] }; bias: number[] };
  labels: number[];
  loss: number;
  other: Batch;
  params: TorchParams;
  grads: Record<string, number[]>;
}

const fixture = (file: string) => fileURLToPath(new URL(`../fixtures/onnx/${file}`, import.meta.url));
const record: BertRecord = JSON.parse(readFileSync(fixture('bert.json'), 'utf8'));

const BERT_EXPORTS = [
  ['bert-opset14.onnx', 14],
  ['bert-opset17.onnx', 17],
  ['bert-dynamo-opset18.onnx', 18],
] as const;

const feeds = (batch: Batch) => ({
  input_ids: toOrt(tensor('int64', batch.input_ids.dims, batch.input_ids.data)),
  attention_mask: toOrt(tensor('int64', batch.attention_mask.dims, batch.attention_mask.data)),
});

describe('a BERT written by torch.onnx.export', () => {
  for (const [file, opset] of BERT_EXPORTS) {
    it(`${file}: import, shapes, embeddings and the gradients of a classification loss match torch`, async () => {
      const model = loadModel(fixture(file));
      expect(model.opset).toBe(opset);
      expect(model.graph.inputs.map((v) => [v.name, v.dtype, v.shape])).toEqual([
        ['input_ids', 'int64', ['batch', 'seq']],
        ['attention_mask', 'int64', ['batch', 'seq']],
      ]);
      expect(inferShapes(model.graph).get('embeddings')?.shape).toEqual(['batch', 8]);
      const plain = await createSession(decodeModel(encodeModel(model)));
      const other = await plain.session.run(feeds(record.other));
      expect(other.embeddings.dims).toEqual(record.other.output.dims);
      expect(close(Array.from(other.embeddings.data as Float32Array), record.other.output.data, 1e-5)).toBe(true);
      await plain.session.release();

      const matched = matchTorchParams(model.graph.initializers, record.params);
      expect(matched.flatMap((m) => m.names).sort()).toEqual(Object.keys(record.params).sort());

      // loss = cross-entropy of torch's head (logits = e Wᵀ + b) against the labels, averaged over the batch.
      const b = new GraphBuilder(model.graph);
      const { weight, bias } = record.head;
      const logits = b.op(
        'Gemm',
        [
          'embeddings',
          b.constant(tensor('float32', weight.dims, weight.data), 'head_w'),
          b.constant(tensor('float32', [bias.length], bias), 'head_b'),
        ],
        { transB: 1 },
      );
      const classes = bias.length;
      const picks = record.labels.flatMap((l) => Array.from({ length: classes }, (_, c) => (c === l ? -1 : 0)));
      const scaled = tensor(
        'float32',
        [record.labels.length, classes],
        picks.map((p) => p / record.labels.length),
      );
      const logProbs = b.op('LogSoftmax', [logits], { axis: -1 });
      const loss = b.op('ReduceSum', [b.op('Mul', [logProbs, b.constant(scaled, 'picks')])], { keepdims: 0 }, 'loss');
      const grads = addGradients(model.graph, { loss, wrt: matched.map((m) => m.init), opset });
      model.graph.outputs.push({ name: loss, dtype: 'float32', shape: [] });
      for (const m of matched) {
        const t = model.graph.initializers.get(m.init)!;
        model.graph.outputs.push({ name: grads.get(m.init)!, dtype: 'float32', shape: t.dims });
      }

      const { session } = await createSession(decodeModel(encodeModel(model)));
      const out = await session.run(feeds(record));
      expect(close(Array.from(out.embeddings.data as Float32Array), record.output.data, 1e-5)).toBe(true);
      expect(Number(out.loss.data[0])).toBeCloseTo(record.loss, 5);
      for (const m of matched) {
        const ours = Array.from(out[grads.get(m.init)!].data as Float32Array);
        const theirs = torchGradientOf(m, record.params, record.grads, ours.length);
        expect(close(ours, theirs, 1e-4), `gradient of ${m.names.join(' + ')} (${m.init})`).toBe(true);
      }
      await session.release();
    });
  }
});
