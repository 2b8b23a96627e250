import { addGradients } from '../autodiff/index.ts';
import { GraphBuilder, scalar, type Graph, type Model, type TensorData } from '../ir/index.ts';
import { appendLoss, targetInfo, type LossSpec } from '../losses/index.ts';
import { cloneGraph, renameValue } from '../models/graph-edit.ts';
import { LOGITS } from '../models/layout.ts';
import { clipByGlobalNorm, makeOptimizer, type OptimizerConfig } from '../optim/index.ts';
import { LOSS, LR, PARAMS, STEP, TARGETS, gradSumOf, next, slotOf } from './names.ts';
import { fuseSiblingMatMuls } from './fuse-matmuls.ts';
import { packGradients, packedLayout, pack, readPackedInput, type PackedLayout } from './packed.ts';

export interface TrainingSpec {
  /** Initializers of the forward model that train; the others stay frozen initializers. */
  trainable: string[];
  classes: number;
  loss: LossSpec;
  optimizer: OptimizerConfig;
  clipNorm?: number;
  /** Micro-batches whose gradients are summed into one update (default 1). */
  accumulation?: number;
}

export interface CompiledTraining {
  /**
   * features, targets, params, optimiser slots, [grad sum], step, lr → loss, next:params, next:slots. The
   * parameters, each slot and the gradient sum are flat vectors in `layout`.
   */
  step: Model;
  /** Only with accumulation > 1: features, targets, params, grad sum → loss, next:grad sum. */
  accumulate?: Model;
  /**
   * features, targets, params → logits, loss. The loss reported is the plain cross-entropy for cross-entropy (no
   * label smoothing) and distillation (no teacher), so eval losses compare across runs.
   */
  eval: Model;
  layout: PackedLayout;
  /** The optimiser's state slots: input `slotOf(slot, PARAMS)` holds each. */
  slots: readonly string[];
  /** Initial values of the packed parameters and the zeroed optimiser slots, by input name. */
  initial: Map<string, TensorData>;
}

function addOutput(g: Graph, value: string, name: string, t: { dtype: TensorData['dtype']; dims: number[] }): void {
  if (value !== name) renameValue(g, value, name);
  g.outputs.push({ name, dtype: t.dtype, shape: t.dims });
}

/**
 * The forward graph with trainable initializers turned into inputs, a `targets` input and the loss appended.
 * A fresh builder must wrap the graph after addGradients, which appends nodes behind the builder's back.
 */
function withLoss(
  forward: Model,
  spec: TrainingSpec,
  loss: LossSpec,
): { graph: Graph; loss: string; batch: string | number } {
  const graph = { ...cloneGraph(forward.graph), outputs: [] };
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
  const b = new GraphBuilder(graph);
  const batch = input.shape[0];
  const target = targetInfo(loss, spec.classes, batch);
  b.input(TARGETS, target.dtype, target.shape);
  return { graph, loss: appendLoss(b, loss, LOGITS, TARGETS, spec.classes), batch };
}

/** The loss graph reading the packed parameters, with the flat gradient of the loss appended. */
function gradients(forward: Model, spec: TrainingSpec, layout: PackedLayout) {
  const { graph, loss } = withLoss(forward, spec, spec.loss);
  const grads = addGradients(graph, { loss, wrt: spec.trainable });
  readPackedInput(graph, layout, PARAMS);
  const b = new GraphBuilder(graph);
  return {
    graph,
    loss,
    grad: packGradients(
      b,
      layout,
      spec.trainable.map((p) => grads.get(p)!),
    ),
  };
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
  const layout = packedLayout(spec.trainable.map((name) => ({ name, tensor: paramTensor(forward, name) })));
  const flat = { dtype: 'float32' as const, dims: [layout.size] };
  const as = (graph: Graph): Model => ({ ...forward, graph, metadata: {} });

  // The step graph.
  const { graph, loss, grad } = gradients(forward, spec, layout);
  const b = new GraphBuilder(graph);
  let total = grad;
  if (accumulation > 1) {
    const scale = b.constant(scalar('float32', 1 / accumulation), 'inv_accumulation');
    const sum = b.input(gradSumOf(PARAMS), 'float32', flat.dims);
    total = b.op('Mul', [b.op('Add', [grad, sum]), scale], {}, 'mean_grad');
  }
  if (spec.clipNorm !== undefined) [total] = clipByGlobalNorm(b, [total], spec.clipNorm);
  const slots = optimizer.slots.map((s) => b.input(slotOf(s, PARAMS), 'float32', flat.dims));
  const step = b.input(STEP, 'float32', []);
  const lr = b.input(LR, 'float32', []);
  const updated = optimizer.updater(b, { step, lr })(PARAMS, total, slots);
  addOutput(graph, loss, LOSS, { dtype: 'float32', dims: [] });
  addOutput(graph, updated.param, next(PARAMS), flat);
  updated.state.forEach((v, j) => addOutput(graph, v, next(slots[j]), flat));

  const compiled: CompiledTraining = {
    step: as(graph),
    eval: compileEval(forward, spec, layout),
    layout,
    slots: optimizer.slots,
    initial: new Map([[PARAMS, { ...flat, data: pack(layout, (p) => paramTensor(forward, p)) }]]),
  };
  if (accumulation > 1) compiled.accumulate = as(compileAccumulate(forward, spec, layout));
  for (const s of slots) compiled.initial.set(s, { ...flat, data: new Float32Array(layout.size) });
  return compiled;
}

function compileAccumulate(forward: Model, spec: TrainingSpec, layout: PackedLayout): Graph {
  const { graph, loss, grad } = gradients(forward, spec, layout);
  const b = new GraphBuilder(graph);
  addOutput(graph, loss, LOSS, { dtype: 'float32', dims: [] });
  const sum = b.op('Add', [grad, b.input(gradSumOf(PARAMS), 'float32', [layout.size])], {}, 'grad_sum');
  addOutput(graph, sum, next(gradSumOf(PARAMS)), { dtype: 'float32', dims: [layout.size] });
  return graph;
}

function compileEval(forward: Model, spec: TrainingSpec, layout: PackedLayout): Model {
  const plain: LossSpec =
    spec.loss.kind === 'cross-entropy' || spec.loss.kind === 'distill' ? { kind: 'cross-entropy' } : spec.loss;
  const { graph, loss, batch } = withLoss(forward, spec, plain);
  readPackedInput(graph, layout, PARAMS);
  graph.outputs.push({ name: LOGITS, dtype: 'float32', shape: [batch, spec.classes] });
  addOutput(graph, loss, LOSS, { dtype: 'float32', dims: [] });
  return { ...forward, graph, metadata: {} };
}
