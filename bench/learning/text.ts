// The text rows of the learning-quality benchmark (bench/learning.ts): on raw SpamAssassin mail across the corpus's
// periods, `ratchet train --arch fasttext|encoder` with its defaults, the same model and recipe in PyTorch
// (bench/learning/torch_text.py, fed Ratchet's own encoding of the texts) and scikit-learn's TF-IDF + logistic
// regression (bench/learning/tfidf_logreg.py).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from '../../engine/io/safetensors.ts';
import { tensor, type TensorData } from '../../engine/ir/index.ts';
import { loadClassifier } from '../../engine/models/base.ts';
import { LINEAGE_KEY } from '../../engine/models/layout.ts';
import { textEncoder } from '../../engine/text/encode.ts';
import { textJsonl, type TextRecord } from '../../infra/demo/spam-assassin.ts';
import { rawMailSplits } from './raw-mail.ts';
import { oracle, ratchetTrain, reportPair, type Run } from './runs.ts';

/** What the model Ratchet wrote reads, and how it trained, for torch_text.py to repeat with its own init and order. */
async function torchText(
  pythonPath: string,
  modelPath: string,
  split: { train: TextRecord[]; test: TextRecord[] },
  seed: number,
  threads: number,
) {
  const model = loadClassifier(modelPath);
  const encoding = model.text!;
  const lineage = JSON.parse(model.model.metadata[LINEAGE_KEY]) as {
    hyperparameters: Record<string, unknown> & {
      text: Record<string, unknown>;
      batchSize: number;
      epochs: number;
      lr: number;
      warmupSteps?: number;
      decay?: string;
      optimizer: { weightDecay?: number };
    };
  };
  const h = lineage.hyperparameters;
  const encoder = textEncoder(encoding);
  const tensors = new Map<string, TensorData>();
  for (const [part, records] of [
    ['train', split.train],
    ['test', split.test],
  ] as const) {
    for (const [name, t] of Object.entries(encoder.encode(records.map((r) => r.text))))
      tensors.set(`${part}:${name}`, t);
    const labels = records.map((r) => model.labelNames!.indexOf(r.label));
    tensors.set(`${part}:labels`, tensor('int64', [labels.length], BigInt64Array.from(labels, BigInt)));
  }
  const spec =
    encoding.kind === 'wordpiece'
      ? { ...h.text, vocab: encoding.vocab.length, maxLength: encoding.maxLength, windows: encoding.windows ?? 1 }
      : h.text;
  const dir = join(modelPath, '..', 'torch');
  await mkdir(dir, { recursive: true });
  await writeSafetensors(join(dir, 'data.safetensors'), tensors);
  const config = {
    arch: h.text.kind,
    spec,
    epochs: h.epochs,
    batchSize: h.batchSize,
    lr: h.lr,
    weightDecay: h.optimizer.weightDecay ?? 0.01,
    warmupSteps: h.warmupSteps ?? 0,
    decay: h.decay ?? 'cosine',
    seed,
    threads,
  };
  await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  return oracle(pythonPath, 'torch_text.py', [dir]);
}

export interface TextRow {
  split: string;
  model: string;
  ratchet?: Run[];
  pytorch: Run[];
}

/** Every text row asked for: per split, TF-IDF + LR once (it has no seed), then each architecture at each seed. */
export async function textRows(
  pythonPath: string,
  dir: string,
  seeds: number[],
  threads: number,
  only: { splits: string[]; models: string[] },
): Promise<TextRow[]> {
  const rows: TextRow[] = [];
  for (const split of rawMailSplits(1).filter((s) => only.splits.includes(s.name))) {
    const files = { train: join(dir, `${split.name}-train.jsonl`), test: join(dir, `${split.name}-test.jsonl`) };
    await writeFile(files.train, textJsonl(split.train));
    await writeFile(files.test, textJsonl(split.test));
    rows.push({
      split: split.name,
      model: 'TF-IDF + logistic regression (scikit-learn)',
      pytorch: [await oracle(pythonPath, 'tfidf_logreg.py', [files.train, files.test])],
    });
    for (const arch of ['fasttext', 'encoder'].filter((a) => only.models.includes(a))) {
      const row: Required<TextRow> = { split: split.name, model: arch, ratchet: [], pytorch: [] };
      for (const seed of seeds) {
        const plan = { ...files, out: join(dir, `${split.name}-${arch}-${seed}`), seed, threads };
        row.ratchet.push(await ratchetTrain(plan, ['--arch', arch]));
        row.pytorch.push(await torchText(pythonPath, join(plan.out, 'model.onnx'), split, seed, threads));
        reportPair(`${split.name} ${arch}`, seed, row.ratchet.at(-1)!, row.pytorch.at(-1)!);
      }
      rows.push(row);
    }
  }
  return rows;
}
