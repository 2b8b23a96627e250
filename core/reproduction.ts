// What a reproduction reports and where it is kept: the API reads it, the worker writes it (core/reproduce.ts runs
// it). Apart from the run itself so that the API, edge entry included, does not load the engine.
import { objectKey } from './object-store.ts';

export type ReproducedInput = {
  /** train, eval (dataset files), base_model, teacher (a distilled version's retrained teacher). */
  name: string;
  recorded_sha256: string;
  /** null when no object was found for it. */
  found_sha256: string | null;
  ok: boolean;
  /** Where the bytes were read from (an S3 key, or the registry version). */
  source?: string;
};

export type ReproduceReport = {
  model: string;
  version: number;
  reproduced: boolean;
  model_sha256: { recorded: string; rebuilt: string | null };
  inputs: ReproducedInput[];
  code: { recorded: string; current: string; same: boolean };
  /** One sentence: what matched, or what differs. */
  summary: string;
};

/** reproductions/<id>.json: a reproduction's report (or `{ error }`), kept by the worker and read by the API. */
export const reproductionKey = (id: string) => objectKey('reproductions', `${id}.json`);
