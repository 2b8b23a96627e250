// A checkpoint is two files: weights.safetensors (trainable parameters and optimiser state, by graph input name)
// and state.json (where the run stands, so a new process continues exactly where this one was). The engine hands
// them over as bytes (`checkpointFiles`); `ratchet train` keeps them in a directory per step, the train activity
// under an S3 prefix per step.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RngState } from '../data/index.ts';
import { decodeSafetensors, encodeSafetensors } from '../io/safetensors.ts';
import type { TensorData } from '../ir/index.ts';
import type { LossScale } from './loss-scale.ts';

export const CHECKPOINT_FORMAT = 'ratchet-checkpoint/1';
const WEIGHTS = 'weights.safetensors';
const STATE = 'state.json';
/** The files of a checkpoint, state.json last: a reader that finds it may take the checkpoint as complete. */
export const CHECKPOINT_FILES = [WEIGHTS, STATE] as const;
export type CheckpointFiles = Record<(typeof CHECKPOINT_FILES)[number], Uint8Array>;

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
  /** Mixed precision only: the dynamic loss scale (engine/train/loss-scale.ts). */
  lossScale?: LossScale;
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

/** A checkpoint as the bytes of its files. */
export function checkpointFiles(checkpoint: Checkpoint): CheckpointFiles {
  return {
    [WEIGHTS]: encodeSafetensors(checkpoint.tensors, { format: CHECKPOINT_FORMAT }),
    [STATE]: new TextEncoder().encode(JSON.stringify(checkpoint.state, null, 2) + '\n'),
  };
}

/** The checkpoint in `files`; `where` (a directory, an S3 prefix) is what errors call it. */
export function checkpointOf(files: CheckpointFiles, where: string): Checkpoint {
  let state: CheckpointState;
  try {
    state = JSON.parse(new TextDecoder().decode(files[STATE])) as CheckpointState;
  } catch (e) {
    throw new Error(`${join(where, STATE)} is not valid JSON (${(e as Error).message})`);
  }
  if (state.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${join(where, STATE)}: unknown checkpoint format ${JSON.stringify(state.format)}`);
  }
  let tensors: Map<string, TensorData>;
  try {
    tensors = decodeSafetensors(files[WEIGHTS]).tensors;
  } catch (e) {
    throw new Error(`${join(where, WEIGHTS)}: ${(e as Error).message}`);
  }
  return { tensors, state };
}

/** Writes a checkpoint's files into `parent/step-NNNNNNNN`, atomically: a crash leaves the previous ones intact. */
export async function saveCheckpoint(parent: string, step: number, files: CheckpointFiles): Promise<string> {
  const dir = join(parent, checkpointName(step));
  const partial = `${dir}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  for (const name of CHECKPOINT_FILES) await writeFile(join(partial, name), files[name]);
  await rm(dir, { recursive: true, force: true });
  await rename(partial, dir);
  return dir;
}

/** The checkpoint `saveCheckpoint` wrote into `dir`. */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  let state: Uint8Array;
  try {
    state = await readFile(join(dir, STATE));
  } catch {
    throw new Error(`${dir} is not a checkpoint: ${STATE} is missing`);
  }
  return checkpointOf({ [STATE]: state, [WEIGHTS]: await readFile(join(dir, WEIGHTS)) }, dir);
}
