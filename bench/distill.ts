// Distillation report: a text encoder (the teacher, `ratchet train --arch encoder`) distilled into a fastText
// student (`ratchet distill --student-arch fasttext`) on SpamAssassin period 1. Prints teacher vs student held-out
// accuracy, parameters and p50 latency at batch 1 (engine/metrics/latency.ts, model only: the host's tokenising and
// hashing are not timed), the ratios against the targets, then the figures as one JSON line.
//   npx tsx bench/distill.ts [--epochs 3] [--student-epochs 10] [--student-lr 0.02] [--buckets 2048] [--dim 16]
//     [--temperature 2] [--alpha 0.5]
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { Rng } from '../engine/data/index.ts';
import { parameterCount, runDistillJob } from '../engine/distill/job.ts';
import { measureLatency } from '../engine/metrics/index.ts';
import { importClassifier } from '../engine/models/base.ts';
import { DEFAULT_ARCH } from '../engine/models/text.ts';
import { createSession, toOrt } from '../engine/runtime/index.ts';
import { textEncoder } from '../engine/text/encode.ts';
import { spamAssassin, textJsonl } from '../infra/demo/spam-assassin.ts';
import { runTrainJob } from '../engine/train/job.ts';

const { values } = parseArgs({
  options: Object.fromEntries(
    ['epochs', 'student-epochs', 'student-lr', 'buckets', 'dim', 'temperature', 'alpha'].map((k) => [
      k,
      { type: 'string' as const },
    ]),
  ),
});
const num = (key: string, fallback: number) => Number(values[key] ?? fallback);

const records = spamAssassin(['easy-ham-1', 'spam-1']);
const order = Rng.fromSeed(3).permutation(records.length);
const heldOut = Math.round(records.length * 0.2);
const data = {
  train: textJsonl(Array.from(order.subarray(heldOut), (i) => records[i])),
  eval: textJsonl(Array.from(order.subarray(0, heldOut), (i) => records[i])),
};
console.error(`SpamAssassin period 1: ${records.length - heldOut} training, ${heldOut} held-out messages`);

const config = { batchSize: 32, lr: 1e-3, decay: 'cosine' as const, optimizer: { kind: 'adamw' as const }, seed: 1 };
const teacherStarted = performance.now();
const trained = await runTrainJob(
  {
    train: 'train.jsonl',
    eval: 'eval.jsonl',
    text: DEFAULT_ARCH.encoder,
    hidden: [],
    method: 'full',
    config: { ...config, epochs: num('epochs', 3), loss: { kind: 'cross-entropy' } },
  },
  data,
);
const teacherMs = performance.now() - teacherStarted;
const teacherModel = trained.model!;

const studentStarted = performance.now();
const distilled = await runDistillJob(
  {
    teacher: 'teacher.onnx',
    train: 'train.jsonl',
    eval: 'eval.jsonl',
    studentArch: 'fasttext',
    hidden: [],
    fasttext: { buckets: num('buckets', 2048), dim: num('dim', 16) },
    temperature: num('temperature', 2),
    alpha: num('alpha', 0.5),
    config: { ...config, lr: num('student-lr', 0.02), epochs: num('student-epochs', 10) },
  },
  { ...data, teacher: teacherModel },
);
const studentMs = performance.now() - studentStarted;

/** p50 latency at batch 1 of a text model, on held-out texts encoded as the model's metadata says. */
async function latencyOf(bytes: Uint8Array, name: string) {
  const classifier = importClassifier(bytes, name);
  const encoder = textEncoder(classifier.text!);
  const texts = records.slice(0, 32).map((r) => r.text);
  const { session } = await createSession(classifier.model);
  const report = await measureLatency(session, (batch) =>
    Object.fromEntries(
      Object.entries(encoder.encode(texts.slice(0, batch))).map(([name, t]) => [name, toOrt(t) as ort.Tensor]),
    ),
  );
  return { ...report, parameters: parameterCount(classifier.model) };
}
const teacher = {
  ...(await latencyOf(teacherModel, 'teacher')),
  accuracy: distilled.teacher.accuracy,
  train_ms: teacherMs,
};
const student = {
  ...(await latencyOf(distilled.model, 'student')),
  accuracy: distilled.metrics.accuracy,
  train_ms: studentMs,
};

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
console.log('| model | held-out accuracy | parameters | p50 latency, batch 1 | training wall time |');
console.log('|---|---|---|---|---|');
for (const [name, m] of [
  ['teacher: encoder', teacher],
  ['student: fastText', student],
] as const) {
  console.log(
    `| ${name} | ${pct(m.accuracy)} | ${m.parameters.toLocaleString('en')} | ${m.p50_ms.toFixed(3)} ms | ${(m.train_ms / 1000).toFixed(1)} s |`,
  );
}
const ratios = {
  accuracy_kept: student.accuracy / teacher.accuracy,
  parameter_share: student.parameters / teacher.parameters,
  latency_speedup: teacher.p50_ms / student.p50_ms,
};
console.log(
  `\nstudent keeps ${pct(ratios.accuracy_kept)} of the teacher's accuracy (target >= 97 %), with ` +
    `${pct(ratios.parameter_share)} of its parameters (target <= 10 %) and ${ratios.latency_speedup.toFixed(1)}x lower ` +
    `p50 latency (target >= 5x)`,
);
console.log(JSON.stringify({ teacher, student, ratios }));
