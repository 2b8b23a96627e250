import { addGradients } from '../autodiff/index.ts';
import { GraphBuilder, scalar, type Graph, type Model, type TensorData } from '../ir/index.ts';
import { appendLoss, targetInfo, type LossSpec } from '../losses/index.ts';
import { cloneGraph, renameValue } from '../models/graph-edit.ts';
import { LOGITS } from '../models/layout.ts';
import { clipByGlobalNorm, makeOptimizer, type OptimizerConfig } from '../optim/index.ts';
import { LOSS, LR, STEP, TARGETS, gradSumOf, next, slotOf } from './names.ts';

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
  /** features, targets, params, optimiser slots, [grad sums], step, lr → loss, next:params, next:slots. */
  step: Model;
  /** Only with accumulation > 1: features, targets, params, grad sums → loss, next:grad sums. */
  accumulate?: Model;
  /**
   * features, targets, params → logits, loss. The loss reported is the plain cross-entropy for cross-entropy (no
   * label smoothing) and distillation (no teacher), so eval losses compare across runs.
   */
  eval: Model;
  /** Initial values for the trainable parameters and the zeroed optimiser state, by input name. */
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
  const b = new GraphBuilder(graph);
  const batch = input.shape[0];
  const target = targetInfo(loss, spec.classes, batch);
  b.input(TARGETS, target.dtype, target.shape);
  return { graph, loss: appendLoss(b, loss, LOGITS, TARGETS, spec.classes), batch };
}

function gradients(forward: Model, spec: TrainingSpec) {
  const { graph, loss } = withLoss(forward, spec, spec.loss);
  const grads = addGradients(graph, { loss, wrt: spec.trainable });
  return { graph, loss, grads: spec.trainable.map((p) => grads.get(p)!) };
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
  const params = spec.trainable;
  const shapeOf = (p: string) => paramTensor(forward, p);
  const as = (graph: Graph): Model => ({ ...forward, graph, metadata: {} });

  // The step graph.
  const { graph, loss, grads } = gradients(forward, spec);
  const b = new GraphBuilder(graph);
  let total = grads;
  if (accumulation > 1) {
    const scale = b.constant(scalar('float32', 1 / accumulation), 'inv_accumulation');
    total = grads.map((g, i) => {
      const sum = b.input(gradSumOf(params[i]), 'float32', shapeOf(params[i]).dims);
      return b.op('Mul', [b.op('Add', [g, sum]), scale], {}, 'mean_grad');
    });
  }
  if (spec.clipNorm !== undefined) total = clipByGlobalNorm(b, total, spec.clipNorm);
  for (const p of params) for (const s of optimizer.slots) b.input(slotOf(s, p), 'float32', shapeOf(p).dims);
  const step = b.input(STEP, 'float32', []);
  const lr = b.input(LR, 'float32', []);
  const update = optimizer.updater(b, { step, lr });
  addOutput(graph, loss, LOSS, { dtype: 'float32', dims: [] });
  params.forEach((p, i) => {
    const updated = update(
      p,
      total[i],
      optimizer.slots.map((s) => slotOf(s, p)),
    );
    addOutput(graph, updated.param, next(p), shapeOf(p));
    updated.state.forEach((v, j) => addOutput(graph, v, next(slotOf(optimizer.slots[j], p)), shapeOf(p)));
  });

  const compiled: CompiledTraining = {
    step: as(graph),
    eval: compileEval(forward, spec),
    initial: new Map(),
  };
  if (accumulation > 1) compiled.accumulate = as(compileAccumulate(forward, spec));
  for (const p of params) compiled.initial.set(p, paramTensor(forward, p));
  for (const p of params) {
    for (const s of optimizer.slots) {
      const t = shapeOf(p);
      compiled.initial.set(slotOf(s, p), { dtype: t.dtype, dims: [...t.dims], data: new Float32Array(t.data.length) });
    }
  }
  return compiled;
}

function compileAccumulate(forward: Model, spec: TrainingSpec): Graph {
  const { graph, loss, grads } = gradients(forward, spec);
  const b = new GraphBuilder(graph);
  addOutput(graph, loss, LOSS, { dtype: 'float32', dims: [] });
  spec.trainable.forEach((p, i) => {
    const t = paramTensor(forward, p);
    const sum = b.op('Add', [grads[i], b.input(gradSumOf(p), 'float32', t.dims)], {}, 'grad_sum');
    addOutput(graph, sum, next(gradSumOf(p)), t);
  });
  return graph;
}

function compileEval(forward: Model, spec: TrainingSpec): Model {
  const plain: LossSpec =
    spec.loss.kind === 'cross-entropy' || spec.loss.kind === 'distill' ? { kind: 'cross-entropy' } : spec.loss;
  const { graph, loss, batch } = withLoss(forward, spec, plain);
  graph.outputs.push({ name: LOGITS, dtype: 'float32', shape: [batch, spec.classes] });
  addOutput(graph, loss, LOSS, { dtype: 'float32', dims: [] });
  return { ...forward, graph, metadata: {} };
}
