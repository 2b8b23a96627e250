import { addGradients } from '../autodiff/index.ts';
import { GraphBuilder, elementCount, scalar, type Graph, type Model, type TensorData } from '../ir/index.ts';
import { appendLoss, targetInfo, type LossSpec } from '../losses/index.ts';
import { cloneGraph, renameValue } from '../models/graph-edit.ts';
import { LOGITS } from '../models/layout.ts';
import { clipByGlobalNorm, makeOptimizer, type EarlierSlot, type OptimizerConfig } from '../optim/index.ts';
import { autocastHalf } from './autocast.ts';
import { chunkGraph } from './chunk.ts';
import { GRADS_FINITE, LOSS, LOSS_SCALE, LR, PARAMS, STEP, TARGETS, gradSumOf, next, slotOf } from './names.ts';
import { DROPOUT_KEY, activateDropout, dropsInTraining } from './dropout.ts';
import { fuseSiblingMatMuls } from './fuse-matmuls.ts';
import { useHeadKernels } from './heads.ts';
import { asRowBias, rowBiasAdds } from './row-bias.ts';
import { foldGradientAdds } from './fold-adds.ts';
import { checkTrainable, packGradients, packedLayout, pack, readPackedInput, type PackedLayout } from './packed.ts';

export interface TrainingSpec {
  /** Initializers of the forward model that train; the others stay frozen initializers. */
  trainable: string[];
  classes: number;
  loss: LossSpec;
  optimizer: OptimizerConfig;
  clipNorm?: number;
  /** Micro-batches whose gradients are summed into one update (default 1). */
  accumulation?: number;
  /**
   * 'fp16': mixed precision (engine/train/autocast.ts). The step and accumulate graphs then take a `loss_scale` input
   * and return unscaled float32 gradients' update; the step graph also outputs `grads_finite`. Default 'fp32'.
   */
  precision?: Precision;
  /**
   * Intra-op threads the step runs on (default 2). The backward pass's sums are the same on any number, but on one
   * thread Gather's gradient takes a faster op whose sum is only deterministic there (engine/autodiff/rules/shape.ts).
   */
  threads?: number;
  /**
   * Whether the step may use the engine's own kernels (docs/ENGINE.md): the optimiser's update, backward rules, bias
   * Adds. The step then opens in the native runner only.
   */
  ownKernels?: boolean;
}

export type Precision = 'fp32' | 'fp16';

/**
 * A value the step graph takes as one input and updates as a whole: the small parameters packed into `params`, or a
 * large parameter on its own (its name). Each has one optimiser slot input per slot (`slotOf(slot, input)`).
 */
export interface Trainee {
  input: string;
  dims: number[];
}

export interface CompiledTraining {
  /** features, targets, each trainee and its slots, [grad sums], step, lr → loss, next: each trainee and slot. */
  step: Model;
  /** Only with accumulation > 1: features, targets, trainees, grad sums → loss, next: grad sums. */
  accumulate?: Model;
  /**
   * Only without accumulation or loss scaling, whose per-update decisions the host makes: several steps in one run
   * (engine/train/chunk.ts), the step graph as a Loop's body.
   */
  chunk?: Model;
  /**
   * features, targets, trainees → logits, loss. The loss reported is the plain cross-entropy for cross-entropy (no
   * label smoothing) and distillation (no teacher), so eval losses compare across runs.
   */
  eval: Model;
  /** The small parameters packed into the `params` trainee (none when every parameter is large). */
  layout: PackedLayout;
  trainees: Trainee[];
  /** The optimiser's state slots. */
  slots: readonly string[];
  /** What a checkpoint of an earlier layout kept in place of a slot (Optimizer.earlierSlots). */
  earlierSlots: Readonly<Record<string, EarlierSlot>>;
  /** Initial values of the trainees and their zeroed optimiser slots, by input name. */
  initial: Map<string, TensorData>;
  /** The step and accumulate graphs drop out (engine/train/dropout.ts): each micro-batch is fed a dropout key. */
  dropout: boolean;
  /** Mixed precision: the step and accumulate graphs take LOSS_SCALE, the step graph outputs GRADS_FINITE. */
  lossScaled: boolean;
}

/**
 * Parameters up to this many elements are packed into one vector: the Split and Concat that move a parameter into
 * and out of it each step cost less than the dozen optimiser kernels it would otherwise run alone. A larger one
 * (an MLP's 1024×1024 weight) trains as its own input, where the copies would cost more than the kernels saved.
 */
const PACK_LIMIT = 65_536;

function addOutput(g: Graph, value: string, name: string, t: { dtype: TensorData['dtype']; dims: number[] }): void {
  if (value !== name) renameValue(g, value, name);
  g.outputs.push({ name, dtype: t.dtype, shape: t.dims });
}

/**
 * The forward graph with trainable initializers turned into inputs, a `targets` input and the loss appended; for
 * `training`, with its dropout active where the model asks for it. A fresh builder must wrap the graph after
 * addGradients, which appends nodes behind the builder's back.
 */
function withLoss(
  forward: Model,
  spec: TrainingSpec,
  loss: LossSpec,
  training: boolean,
): { graph: Graph; loss: string; batch: string | number } {
  const graph = { ...cloneGraph(forward.graph), outputs: [] };
  // (The own dropout kernel only in float32: a mixed-precision step casts around the ops it knows.)
  if (training && dropsInTraining(forward)) activateDropout(graph, spec.ownKernels && spec.precision !== 'fp16');
  // The data inputs (`features`, or a text model's ids and mask) come before any trainable weight is made one.
  const input = graph.inputs.find((v) => !graph.initializers.has(v.name));
  if (!input || !forward.graph.outputs.some((o) => o.name === LOGITS)) {
    throw new Error(`the model must map its inputs to output '${LOGITS}'`);
  }
  for (const name of spec.trainable) {
    const t = graph.initializers.get(name);
    if (!t) throw new Error(`trainable parameter '${name}' is not an initializer of the model`);
    graph.initializers.delete(name);
    graph.inputs.push({ name, dtype: t.dtype, shape: [...t.dims] });
  }
  fuseSiblingMatMuls(graph);
  if (training && spec.precision === 'fp16') autocastHalf(graph, spec.trainable, [LOGITS]);
  const b = new GraphBuilder(graph);
  const batch = input.shape[0];
  const target = targetInfo(loss, spec.classes, batch);
  b.input(TARGETS, target.dtype, target.shape);
  return { graph, loss: appendLoss(b, loss, LOGITS, TARGETS, spec.classes), batch };
}

/**
 * The loss graph reading the trainees, with the loss's gradient with respect to each appended. In mixed precision
 * the backward pass starts from loss × LOSS_SCALE, so that small float16 gradients do not flush to zero, and the
 * float32 gradients it ends in are divided by the scale again (an overflow leaves them infinite or NaN).
 */
function gradients(forward: Model, spec: TrainingSpec, layout: PackedLayout, trainees: Trainee[]) {
  const { graph, loss } = withLoss(forward, spec, spec.loss, true);
  if (spec.ownKernels) useHeadKernels(graph);
  const biasAdds = spec.ownKernels ? rowBiasAdds(graph) : [];
  const scaled = spec.precision === 'fp16';
  let scale = '';
  let target = loss;
  if (scaled) {
    const b = new GraphBuilder(graph);
    scale = b.input(LOSS_SCALE, 'float32', []);
    target = b.op('Mul', [loss, scale], {}, 'scaled_loss');
  }
  const grads = addGradients(graph, {
    loss: target,
    wrt: spec.trainable,
    opset: forward.opset,
    oneThread: spec.threads === 1,
    ownKernels: spec.ownKernels,
  });
  if (layout.names.length > 0) readPackedInput(graph, layout, PARAMS);
  const b = new GraphBuilder(graph);
  const gradOf = (t: Trainee) =>
    t.input === PARAMS
      ? packGradients(
          b,
          layout,
          layout.names.map((p) => grads.get(p)!),
        )
      : grads.get(t.input)!;
  const unscale = scaled ? b.op('Reciprocal', [scale], {}, 'inv_loss_scale') : '';
  const unscaled = (g: string) => (scaled ? b.op('Mul', [g, unscale], {}, 'unscaled_grad') : g);
  return { graph, loss, grads: trainees.map(gradOf).map(unscaled), biasAdds };
}

/**
 * A bool scalar, true when every gradient is finite: the sum of all their elements times 0 is NaN exactly when one
 * of them is infinite or NaN (float16 gradients cast to float32 cannot add up to an overflow).
 */
function allFinite(b: GraphBuilder, grads: string[]): string {
  const sums = grads.map((g) => b.op('ReduceSum', [g], { keepdims: 0 }, 'grad_total'));
  const total = sums.length === 1 ? sums[0] : b.op('Sum', sums, {}, 'grad_total');
  const probe = b.op('Mul', [total, b.constant(scalar('float32', 0), 'zero')]);
  return b.op('Not', [b.op('IsNaN', [probe])], {}, GRADS_FINITE);
}

function paramTensor(forward: Model, name: string): TensorData {
  return forward.graph.initializers.get(name)!;
}

/** Compiles the train-step graph (forward, loss, backward, clipping, optimiser update) and the eval graph. */
export function compileTraining(forward: Model, spec: TrainingSpec): CompiledTraining {
  const accumulation = spec.accumulation ?? 1;
  if (!Number.isInteger(accumulation) || accumulation < 1) {
    throw new Error(`gradient accumulation must be a positive integer, got ${accumulation}`);
  }
  const optimizer = makeOptimizer(spec.optimizer);
  const params = spec.trainable.map((name) => ({ name, tensor: paramTensor(forward, name) }));
  for (const p of params) checkTrainable(p.name, p.tensor);
  const large = (p: (typeof params)[number]) => p.tensor.data.length > PACK_LIMIT;
  const layout = packedLayout(params.filter((p) => !large(p)));
  const trainees: Trainee[] = [
    ...(layout.names.length > 0 ? [{ input: PARAMS, dims: [layout.size] }] : []),
    ...params.filter(large).map((p) => ({ input: p.name, dims: [...p.tensor.dims] })),
  ];
  const f32 = (t: Trainee) => ({ dtype: 'float32' as const, dims: t.dims });
  // A graph imports the domains its nodes use beyond ONNX's: the engine's own kernels (so it opens in the native
  // runner only) and ORT's com.microsoft, which the backward pass uses beside them.
  const as = (graph: Graph): Model => {
    const domains = graph.nodes.flatMap((n) => (n.domain && n.domain !== 'ai.onnx' ? [n.domain] : []));
    if (domains.length === 0) return { ...forward, graph, metadata: {} };
    const extraOpsets = { ...forward.extraOpsets, ...Object.fromEntries(domains.map((d) => [d, 1])) };
    return { ...forward, graph, metadata: {}, extraOpsets };
  };

  // The step graph.
  const { graph, loss, grads, biasAdds } = gradients(forward, spec, layout, trainees);
  const b = new GraphBuilder(graph);
  let totals = grads;
  if (accumulation > 1) {
    const scale = b.constant(scalar('float32', 1 / accumulation), 'inv_accumulation');
    totals = grads.map((g, i) => {
      const sum = b.input(gradSumOf(trainees[i].input), 'float32', trainees[i].dims);
      return b.op('Mul', [b.op('Add', [g, sum]), scale], {}, 'mean_grad');
    });
  }
  // Checked before clipping, whose global norm an infinite gradient would turn into NaN everywhere.
  if (spec.precision === 'fp16') addOutput(graph, allFinite(b, totals), GRADS_FINITE, { dtype: 'bool', dims: [] });
  if (spec.clipNorm !== undefined) totals = clipByGlobalNorm(b, totals, spec.clipNorm);
  const slotInputs = trainees.map((t) => optimizer.slots.map((s) => b.input(slotOf(s, t.input), 'float32', t.dims)));
  const step = b.input(STEP, 'float32', []);
  const lr = b.input(LR, 'float32', []);
  const update = optimizer.updater(b, { step, lr, ownKernels: spec.ownKernels });
  addOutput(graph, loss, LOSS, { dtype: 'float32', dims: [] });
  trainees.forEach((t, i) => {
    const updated = update(t.input, totals[i], slotInputs[i]);
    addOutput(graph, updated.param, next(t.input), f32(t));
    updated.state.forEach((v, j) => addOutput(graph, v, next(slotInputs[i][j]), f32(t)));
  });

  // After the backward pass, which reads these nodes as Adds; their values stay the same.
  asRowBias(biasAdds);
  if (spec.ownKernels) foldGradientAdds(graph);
  const compiled: CompiledTraining = {
    step: as(graph),
    eval: compileEval(forward, spec, layout),
    layout,
    trainees,
    slots: optimizer.slots,
    earlierSlots: optimizer.earlierSlots ?? {},
    initial: new Map(),
    dropout: graph.inputs.some((v) => v.name === DROPOUT_KEY),
    lossScaled: spec.precision === 'fp16',
  };
  for (const t of trainees) {
    const data = t.input === PARAMS ? pack(layout, (p) => paramTensor(forward, p)) : paramTensor(forward, t.input).data;
    compiled.initial.set(t.input, { ...f32(t), data });
  }
  trainees.forEach((t, i) => {
    for (const slot of slotInputs[i]) {
      compiled.initial.set(slot, { ...f32(t), data: new Float32Array(elementCount(t.dims)) });
    }
  });
  if (accumulation > 1) compiled.accumulate = as(compileAccumulate(forward, spec, layout, trainees));
  else if (!compiled.lossScaled) compiled.chunk = chunkGraph(compiled.step, [...compiled.initial.keys()]);
  return compiled;
}

function compileAccumulate(forward: Model, spec: TrainingSpec, layout: PackedLayout, trainees: Trainee[]): Graph {
  const { graph, loss, grads } = gradients(forward, spec, layout, trainees);
  const b = new GraphBuilder(graph);
  addOutput(graph, loss, LOSS, { dtype: 'float32', dims: [] });
  trainees.forEach((t, i) => {
    const sum = b.op('Add', [grads[i], b.input(gradSumOf(t.input), 'float32', t.dims)], {}, 'grad_sum');
    addOutput(graph, sum, next(gradSumOf(t.input)), { dtype: 'float32', dims: t.dims });
  });
  return graph;
}

function compileEval(forward: Model, spec: TrainingSpec, layout: PackedLayout): Model {
  const plain: LossSpec =
    spec.loss.kind === 'cross-entropy' || spec.loss.kind === 'distill' ? { kind: 'cross-entropy' } : spec.loss;
  const { graph, loss, batch } = withLoss(forward, spec, plain, false);
  if (layout.names.length > 0) readPackedInput(graph, layout, PARAMS);
  graph.outputs.push({ name: LOGITS, dtype: 'float32', shape: [batch, spec.classes] });
  addOutput(graph, loss, LOSS, { dtype: 'float32', dims: [] });
  return { ...forward, graph, metadata: {} };
}
