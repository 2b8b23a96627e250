// Parity of the imported MiniLM (all-MiniLM-L6-v2 from its PyPI wheel, built as the engine's own graph and run on
// ONNX Runtime) with sentence-transformers' recipe on PyTorch: transformers' BertModel, mean pooling over the
// attention mask, L2 normalisation. Embeddings must agree within 1e-4 (max abs) on varied sentences, and the
// gradient of a classification loss through the whole model must match torch autograd.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { addGradients } from '../../engine/autodiff/index.ts';
import { Rng } from '../../engine/data/index.ts';
import { decodeSafetensors, writeSafetensors } from '../../engine/io/safetensors.ts';
import { GraphBuilder, createModel, emptyGraph, tensor, type TensorData } from '../../engine/ir/index.ts';
import { softmaxCrossEntropy } from '../../engine/losses/index.ts';
import { bertForward, bertPool, buildBertEmbedder, transpose } from '../../engine/models/bert.ts';
import { linearInit } from '../../engine/models/init.ts';
import { loadPretrained, pretrainedInputs, type Pretrained } from '../../engine/models/pretrained.ts';
import { fromOrt, toOrt, withSession } from '../../engine/runtime/session.ts';
import { INPUT_IDS } from '../../engine/text/encode.ts';
import { minilmWheel } from '../helpers/minilm.ts';
import { runOracle } from './python.ts';

const python = () => inject('oraclePython');
const script = join(import.meta.dirname, 'hf_oracle.py');
let dir: string;
let wheel: string;
let model: Pretrained;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratchet-pretrained-'));
  wheel = await minilmWheel(python());
  model = loadPretrained(wheel);
}, 600_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const SENTENCES = [
  'A man is eating food.',
  'A man is eating a piece of bread.',
  'The girl is carrying a baby.',
  'Un homme mange du pain à la terrasse du café.',
  '東京は日本の首都です。',
  'Ein Mann reitet auf einem weißen Pferd durch die Straßen von München.',
  'Emoji 🙂🚀 and symbols ∑ √ ≠ in one line!',
  'Hi',
  'CAPITALS, numbers 1,234.56 and a URL: https://example.com/path?q=1',
  'Whitespace\truns\n\nand   gaps   everywhere',
  'supercalifragilisticexpialidocious antidisestablishmentarianism',
  'Привет, как дела? Всё хорошо.',
];
/** Longer than the model's 256 tokens, so truncation is part of the comparison. */
const LONG = Array.from({ length: 60 }, (_, i) => `sentence ${i} tells the model about item ${i * 7}.`).join(' ');

async function run(graphModel: Parameters<typeof withSession>[0], inputs: Record<string, TensorData>) {
  return withSession(graphModel, { threads: 2 }, async (session) => {
    const out = await session.run(Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, toOrt(v)])));
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromOrt(v)]));
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('MiniLM imported from its wheel against sentence-transformers on PyTorch', () => {
  it('loads the pinned wheel: 6 layers, hidden 384, mean pooling, normalised, 256 tokens', () => {
    expect(model.config).toMatchObject({ layers: 6, hidden: 384, heads: 12, intermediate: 1536, vocab: 30522 });
    expect(model.pooling).toEqual({ mode: 'mean', normalize: true });
    expect(model.maxLength).toBe(256);
    expect(model.sha256.safetensors).toBe('53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db');
    const parameters = [...model.weights.values()].reduce((n, t) => n + t.data.length, 0);
    expect(parameters).toBe(22_565_376); // BertModel's 22.7 M less the unused pooler (384·384 + 384)
  });

  it('gives the same normalised mean-pooled embeddings within 1e-4', async () => {
    const texts = [...SENTENCES, LONG];
    await writeFile(join(dir, 'embed.json'), JSON.stringify({ texts, maxLength: model.maxLength }));
    await runOracle(python(), script, ['embed', wheel, join(dir, 'embed.json'), join(dir, 'embed.safetensors')]);
    const torch = decodeSafetensors(await readFile(join(dir, 'embed.safetensors'))).tensors;
    const inputs = pretrainedInputs(model, texts);
    expect(Array.from(inputs[INPUT_IDS].data as BigInt64Array, Number)).toEqual(
      Array.from(torch.get('input_ids')!.data as BigInt64Array, Number),
    );
    const { embeddings } = await run(buildBertEmbedder(model.config, model.weights, model.pooling), inputs);
    expect(embeddings.dims).toEqual([texts.length, 384]);
    const diff = maxAbsDiff(embeddings.data as Float32Array, torch.get('embeddings')!.data as Float32Array);
    console.log(`embedding max abs difference vs PyTorch: ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-4);
  }, 180_000);

  it('matches torch autograd: the gradient of a cross-entropy loss on a linear head, for every parameter', async () => {
    const texts = SENTENCES.slice(0, 4);
    const labels = [0, 2, 1, 2];
    const maxLength = 24;
    const head = linearInit(Rng.fromSeed(7), 384, 3);
    await writeFile(join(dir, 'grad.json'), JSON.stringify({ texts, labels, maxLength }));
    await writeSafetensors(join(dir, 'head.safetensors'), { 'head.weight': head.weight, 'head.bias': head.bias });
    const oracle = runOracle(python(), script, [
      'grad',
      wheel,
      ...['grad.json', 'head.safetensors', 'grad.safetensors'].map((f) => join(dir, f)),
    ]);

    const b = new GraphBuilder(emptyGraph('bert_grad'));
    const inputs = pretrainedInputs(model, texts, maxLength);
    const ids = b.input(INPUT_IDS, 'int64', ['batch', 'length']);
    const mask = b.input('attention_mask', 'float32', ['batch', 'length']);
    const y = b.input('labels', 'int64', ['batch']);
    const param = (name: string) =>
      b.graph.initializers.has(name) ? name : b.initializer(name, model.weights.get(name)!);
    const pooled = bertPool(b, bertForward(b, model.config, ids, mask, param), mask, 384, model.pooling);
    const logits = b.op('Add', [
      b.op('MatMul', [pooled, b.initializer('head.weight', head.weight)]),
      b.initializer('head.bias', head.bias),
    ]);
    const loss = softmaxCrossEntropy(b, logits, y, { classes: 3 });
    const wrt = [...b.graph.initializers.keys()].filter((n) => model.weights.has(n) || n.startsWith('head.'));
    const grads = addGradients(b.graph, { loss, wrt });
    b.output(loss, 'float32', []);
    for (const name of wrt) b.output(grads.get(name)!, 'float32', b.graph.initializers.get(name)!.dims);
    const out = await run(createModel(b.graph), {
      ...inputs,
      labels: tensor('int64', [4], BigInt64Array.from(labels, BigInt)),
    });

    await oracle;
    const torch = decodeSafetensors(await readFile(join(dir, 'grad.safetensors'))).tensors;
    expect(Math.abs((out[loss].data as Float32Array)[0] - (torch.get('loss')!.data as Float32Array)[0])).toBeLessThan(
      1e-5,
    );
    // Each gradient against torch's, relative to the largest of that tensor's entries (linear weights are stored
    // transposed here, so torch's [out, in] is read as [in, out]). A key bias adds one constant to all of a query's
    // scores, which softmax ignores: its gradient is 0 exactly, and both sides must give rounding noise only.
    let worst = { name: '', relative: 0 };
    for (const name of wrt) {
      const ours = out[grads.get(name)!].data as Float32Array;
      const expected = torch.get(name)!;
      const linear = expected.dims.length === 2 && name.startsWith('encoder.');
      const theirs = (linear ? transpose(expected) : expected).data as Float32Array;
      const scale = theirs.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      if (name.endsWith('attention.self.key.bias')) {
        expect(Math.max(scale, ...ours.map(Math.abs)), name).toBeLessThan(1e-8);
        continue;
      }
      const relative = maxAbsDiff(ours, theirs) / scale;
      if (relative > worst.relative) worst = { name, relative };
    }
    console.log(
      `gradient: ${wrt.length} tensors, worst max abs difference / max |grad| ${worst.relative.toExponential(2)} (${worst.name})`,
    );
    expect(wrt.length).toBe(model.weights.size + 2);
    expect(worst.relative).toBeLessThan(1e-4);
  }, 300_000);
});
