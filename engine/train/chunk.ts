// Several optimiser updates in one ONNX Runtime run: the step graph as the body of an ONNX Loop whose carried values
// are the trainees and their optimiser slots. Each run has a cost of its own (its call, its outputs handed back): for
// a small model's short steps, such as the MLP's at batch 256, a noticeable share (bench/train-step.ts). Inside the
// Loop the carried tensors pass from one iteration to the next in ORT's own memory, and only the chunk's last state
// comes out, copied once (which is why a large state runs one update a run instead: trainer.ts). Each
// iteration runs the step graph's own nodes on the same shapes, so a chunk's result is bit-identical to its steps
// run one by one (test/engine/train-chunk.test.ts). Steps whose inputs differ in shape (text batches cut to their own
// longest text, an epoch's short last batch) share a chunk too: each input is stacked padded to the chunk's largest
// shape, beside every step's own dims, and the iteration slices its step back out before the step graph sees it.
import { cloneGraph, renameValue } from '../models/graph-edit.ts';
import { int64s, scalar, type Graph, type Model, type ValueInfo } from '../ir/index.ts';
import { LOSS, next } from './names.ts';

/** The chunk graph's trip count input: how many steps this run makes (int64 scalar). */
export const CHUNK_STEPS = 'chunk_steps';
/** The chunk graph's output holding each step's loss, in order (float32 [steps]). */
export const CHUNK_LOSSES = 'chunk_losses';
/** The chunk graph's input holding per-step input `name` of every step, stacked along a new first axis. */
export const stacked = (name: string) => `steps:${name}`;
/** The chunk graph's input holding each step's dims of per-step input `name` (int64 [steps, rank]; rank >= 1). */
export const stackedDims = (name: string) => `dims:${name}`;

const ITERATION = 'loop_iteration';
const KEEP_GOING = 'loop_continue';
const carried = (name: string) => `carried:${name}`;

/**
 * A graph taking the step graph's state inputs (`state`, by their names), every other step input stacked
 * (`stacked(name)`, one row per step) and CHUNK_STEPS, and returning the state after that many steps (as `next:X`,
 * like the step graph) and CHUNK_LOSSES.
 */
export function chunkGraph(step: Model, state: readonly string[]): Model {
  const body = cloneGraph(step.graph);
  const isState = new Set(state);
  // Copies: the renaming below edits the body's own value infos.
  const perStep = body.inputs.filter((v) => !isState.has(v.name)).map((v) => ({ ...v }));
  const stateInputs = state.map((name) => ({ ...body.inputs.find((v) => v.name === name)! }));
  const outputOf = (name: string) => {
    const output = body.outputs.find((v) => v.name === name);
    if (!output) throw new Error(`the step graph has no output '${name}'`);
    return { ...output };
  };
  const stateOutputs = state.map((name) => outputOf(next(name)));
  const loss = outputOf(LOSS);

  // Inside the body, names the enclosing graph also uses are renamed apart (a subgraph may not shadow them).
  for (const name of state) {
    renameValue(body, name, carried(name));
    renameValue(body, next(name), carried(next(name)));
  }
  renameValue(body, LOSS, carried(LOSS));
  const padded = (name: string) => `padded:${name}`;
  const sliced = perStep.filter((v) => v.shape.length > 0);
  // A step's slice starts at 0 on every axis and ends at its own dims.
  const startsOf = (rank: number) => `slice_starts_${rank}`;
  for (const { shape } of sliced) body.initializers.set(startsOf(shape.length), int64s(shape.map(() => 0)));
  body.nodes.unshift(
    ...perStep.map((v) => ({
      op: 'Gather',
      name: `gather_step_${v.name}`,
      inputs: [stacked(v.name), ITERATION],
      outputs: [v.shape.length > 0 ? padded(v.name) : v.name],
      attrs: {},
    })),
    ...sliced.flatMap((v) => [
      {
        op: 'Gather',
        name: `gather_dims_${v.name}`,
        inputs: [stackedDims(v.name), ITERATION],
        outputs: [`dims_of:${v.name}`],
        attrs: {},
      },
      {
        op: 'Slice',
        name: `slice_step_${v.name}`,
        inputs: [padded(v.name), startsOf(v.shape.length), `dims_of:${v.name}`],
        outputs: [v.name],
        attrs: {},
      },
    ]),
    { op: 'Identity', name: 'loop_keep_going', inputs: [KEEP_GOING], outputs: [carried(KEEP_GOING)], attrs: {} },
  );
  body.inputs = [
    { name: ITERATION, dtype: 'int64', shape: [] },
    { name: KEEP_GOING, dtype: 'bool', shape: [] },
    ...stateInputs.map((v) => ({ ...v, name: carried(v.name) })),
  ];
  body.outputs = [
    { name: carried(KEEP_GOING), dtype: 'bool', shape: [] },
    ...stateOutputs.map((v) => ({ ...v, name: carried(v.name) })),
    { ...loss, name: carried(LOSS) },
  ];

  const always = 'loop_always';
  const graph: Graph = {
    name: `${step.graph.name}_chunk`,
    inputs: [
      ...perStep.map((v): ValueInfo => ({ ...v, name: stacked(v.name), shape: [CHUNK_STEPS, ...v.shape] })),
      ...sliced.map((v): ValueInfo => ({
        name: stackedDims(v.name),
        dtype: 'int64',
        shape: [CHUNK_STEPS, v.shape.length],
      })),
      { name: CHUNK_STEPS, dtype: 'int64', shape: [] },
      ...stateInputs,
    ],
    outputs: [...stateOutputs, { name: CHUNK_LOSSES, dtype: 'float32', shape: [CHUNK_STEPS] }],
    initializers: new Map([[always, scalar('bool', true)]]),
    nodes: [
      {
        op: 'Loop',
        name: 'steps',
        inputs: [CHUNK_STEPS, always, ...state],
        outputs: [...state.map(next), CHUNK_LOSSES],
        attrs: { body: { kind: 'graph', value: body } },
      },
    ],
  };
  return { ...step, graph };
}
