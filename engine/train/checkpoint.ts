// A checkpoint is a directory: weights.safetensors (trainable parameters and optimiser state, by graph input
// name) and state.json (where the run stands, so a new process continues exactly where this one was).
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RngState } from '../data/index.ts';
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import type { TensorData } from '../ir/index.ts';

export const CHECKPOINT_FORMAT = 'ratchet-checkpoint/1';
const WEIGHTS = 'weights.safetensors';
const STATE = 'state.json';

export interface RunPosition {
  /** Optimiser updates done. */
  step: number;
  epoch: number;
  /** Micro-batches of `epoch` already consumed. */
  batchInEpoch: number;
  /** The RNG state that `epoch`'s shuffle is drawn from. */
  epochRng: RngState;
  /** Lowest eval loss so far (null before the first eval) and evals since, for early stopping. */
  bestLoss: number | null;
  evalsSinceBest: number;
}

export interface CheckpointState extends RunPosition {
  format: typeof CHECKPOINT_FORMAT;
  /** What the caller needs to rebuild the same model and run: config, label map, model source. */
  run: Record<string, unknown>;
}

export interface Checkpoint {
  tensors: Map<string, TensorData>;
  state: CheckpointState;
}

export const checkpointName = (step: number) => `step-${String(step).padStart(8, '0')}`;

/** Writes the checkpoint into `parent/step-NNNNNNNN`, atomically: a crash leaves the previous ones intact. */
export async function saveCheckpoint(parent: string, checkpoint: Checkpoint): Promise<string> {
  const dir = join(parent, checkpointName(checkpoint.state.step));
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await writeSafetensors(join(partial, WEIGHTS), checkpoint.tensors, { format: CHECKPOINT_FORMAT });
  await writeFile(join(partial, STATE), JSON.stringify(checkpoint.state, null, 2) + '\n');
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return dir;
}

export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  let text: string;
  try {
    text = await readFile(join(dir, STATE), 'utf8');
  } catch {
    throw new Error(`${dir} is not a checkpoint: ${STATE} is missing`);
  }
  let state: CheckpointState;
  try {
    state = JSON.parse(text) as CheckpointState;
  } catch (e) {
    throw new Error(`${join(dir, STATE)} is not valid JSON (${(e as Error).message})`);
  }
  if (state.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${join(dir, STATE)}: unknown checkpoint format ${JSON.stringify(state.format)}`);
  }
  const { tensors } = await readSafetensors(join(dir, WEIGHTS));
  return { tensors, state };
}
