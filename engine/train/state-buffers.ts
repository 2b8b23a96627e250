// Where a run writes the values it carries to the next (the state it advances; under gradient accumulation, the sums):
// two sets of buffers the trainer owns, used in turn (the last run's outputs are this run's inputs, and this run writes
// into the other set). Without them every run took fresh memory for the whole state and the last one's waited for
// JavaScript's collector: MiniLM in full faulted in 87-180 K fresh pages (340-700 MB) a chunk and peaked at 3.1 GB
// (1.9 GB with them), and the MLP at batch 256 ran 13.1-13.7 ms a step where it runs 12.2-12.7 with them.
import * as ort from 'onnxruntime-node';
import { next } from './names.ts';
import type { StepState } from './state.ts';

export class StateBuffers {
  private sets: StepState[] = [];

  /**
   * Buffers for the state after a run from `state`, by output name (`next:X`): an own set that `state` is not,
   * allocated the first time one is needed (the initial state is the caller's and never written).
   */
  outputsAfter(state: StepState): Record<string, ort.Tensor> {
    let set = this.sets.find((s) => !isSet(s, state));
    if (!set) {
      set = new Map([...state].map(([name, t]) => [name, blank(t)]));
      this.sets.push(set);
    }
    return Object.fromEntries([...set].map(([name, t]) => [next(name), t]));
  }

  /** `state` leaves the run (a checkpoint may keep its tensors): its buffers are not written again. */
  handOut(state: StepState): void {
    this.sets = this.sets.filter((s) => !isSet(s, state));
  }
}

/** Whether `state` holds the buffers of `set` (a run's outputs are a whole set, so one tensor tells). */
const isSet = (set: StepState, state: StepState) => {
  const first = set.entries().next().value;
  return first !== undefined && state.get(first[0]) === first[1];
};

/** A tensor of `t`'s type and shape (zeros). */
const blank = (t: ort.Tensor) => {
  const Data = t.data.constructor as new (length: number) => Float32Array;
  return new ort.Tensor(t.type as 'float32', new Data(t.size), t.dims);
};
