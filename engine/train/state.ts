// A run's state between steps: the trainees and their optimiser slots as ORT tensors by graph-input name, and where
// the run stands. Built fresh or restored from a checkpoint, saved as a checkpoint's named tensors, and written back
// as the model's weights at the end.
import type * as ort from 'onnxruntime-node';
import { Rng } from '../data/index.ts';
import { InvalidInput } from '../invalid-input.ts';
import type { TensorData } from '../ir/index.ts';
import { fromOrt, toOrt } from '../runtime/index.ts';
import type { Checkpoint, RunPosition } from './checkpoint.ts';
import type { CompiledTraining } from './compile.ts';
import { PARAMS, slotOf } from './names.ts';
import type { LossScale } from './loss-scale.ts';
import { pack, unpack } from './packed.ts';

/** The trainees and their optimiser slots by graph-input name: fed in each step, replaced by its `next:` outputs. */
export type StepState = Map<string, ort.Tensor>;

/** The compiled graphs' initial state, or the state `resume` holds. */
export function initialState(compiled: CompiledTraining, resume: Checkpoint | undefined): StepState {
  const state: StepState = new Map();
  for (const [name, initial] of compiled.initial) {
    state.set(name, toOrt(resume ? fromCheckpoint(compiled, name, resume) : initial));
  }
  return state;
}

/**
 * Where a run starts: at the beginning, its first shuffle drawn from `seed` (and in mixed precision its loss scale at
 * `lossScale`), or where `resume` stood.
 */
export function startPosition(seed: number, resume: Checkpoint | undefined, lossScale?: LossScale): RunPosition {
  if (resume) return positionOf(resume.state);
  return {
    ...(lossScale ? { lossScale } : {}),
    step: 0,
    epoch: 0,
    batchInEpoch: 0,
    epochRng: Rng.fromSeed(seed).state(),
    bestLoss: null,
    evalsSinceBest: 0,
  };
}

/** A copy of where a checkpointed run stood, without the checkpoint's other fields. */
function positionOf(p: RunPosition): RunPosition {
  const { step, epoch, batchInEpoch, epochRng, bestLoss, evalsSinceBest, lossScale } = structuredClone(p);
  return { step, epoch, batchInEpoch, epochRng, bestLoss, evalsSinceBest, ...(lossScale ? { lossScale } : {}) };
}

/** The trainees' current values, as the graphs' parameter feeds. */
export function paramsOf(compiled: CompiledTraining, state: StepState): Record<string, ort.Tensor> {
  return Object.fromEntries(compiled.trainees.map((t) => [t.input, state.get(t.input)!]));
}

/** The trained parameters by model initializer name, the packed vector unpacked (copied out of the ORT tensor). */
export function trainedWeights(compiled: CompiledTraining, state: StepState): Map<string, TensorData> {
  const trained = new Map<string, TensorData>();
  for (const t of compiled.trainees) {
    const value = state.get(t.input)!;
    if (t.input !== PARAMS) trained.set(t.input, fromOrt(value));
    else for (const [p, v] of unpack(compiled.layout, (value.data as Float32Array).slice())) trained.set(p, v);
  }
  return trained;
}

/** For a state input over the packed vector, each parameter's name in a checkpoint (`P`, or `slot:P` for a slot). */
function packedKey(compiled: CompiledTraining, input: string): ((param: string) => string) | undefined {
  if (input === PARAMS) return (p) => p;
  const slot = compiled.slots.find((s) => slotOf(s, PARAMS) === input);
  return slot === undefined ? undefined : (p) => slotOf(slot, p);
}

/** The run's parameters and optimiser state as named tensors (views into the packed vectors), as checkpoints keep them. */
export function checkpointTensors(compiled: CompiledTraining, state: StepState): Map<string, TensorData> {
  const tensors = new Map<string, TensorData>();
  for (const [input, t] of state) {
    const key = packedKey(compiled, input);
    if (!key) tensors.set(input, fromOrt(t));
    else for (const [p, v] of unpack(compiled.layout, t.data as Float32Array)) tensors.set(key(p), v);
  }
  return tensors;
}

/** A state input's value rebuilt from a checkpoint's named tensors, each checked against the model's shapes. */
function fromCheckpoint(compiled: CompiledTraining, input: string, checkpoint: Checkpoint): TensorData {
  const checked = (name: string, dims: number[]) => {
    const t = checkpoint.tensors.get(name) ?? fromEarlierSlot(compiled, name, checkpoint);
    if (!t) throw new InvalidInput(`the checkpoint has no tensor '${name}'`);
    if (t.dims.join() !== dims.join()) {
      throw new InvalidInput(`the checkpoint's '${name}' has shape [${t.dims}], the model needs [${dims}]`);
    }
    return t;
  };
  const initial = compiled.initial.get(input)!;
  const key = packedKey(compiled, input);
  if (!key) return checked(input, initial.dims);
  const { layout } = compiled;
  return { ...initial, data: pack(layout, (p) => checked(key(p), layout.dims[layout.names.indexOf(p)])) };
}

/** Slot tensor `name` (`slot:P`) from the slot an earlier layout kept in its place, converted; undefined if absent. */
function fromEarlierSlot(compiled: CompiledTraining, name: string, checkpoint: Checkpoint): TensorData | undefined {
  for (const [slot, earlier] of Object.entries(compiled.earlierSlots)) {
    const prefix = slotOf(slot, '');
    const found = name.startsWith(prefix) && checkpoint.tensors.get(slotOf(earlier.slot, name.slice(prefix.length)));
    if (found) return { ...found, data: (found.data as Float32Array).map((x) => x * earlier.factor) };
  }
  return undefined;
}
