// Reading a model from disk, with the external data files it may keep its tensors in.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize } from 'node:path';
import { decodeModel, type ExternalDataReader } from './codec.ts';
import type { Model } from '../ir/types.ts';

/** An ONNX model file's bytes, and a reader for the external tensor data in files beside it. */
export function readModelFile(path: string): { bytes: Uint8Array; externalData: ExternalDataReader } {
  const dir = dirname(path);
  const files = new Map<string, Uint8Array>();
  return {
    bytes: readFileSync(path),
    externalData: (location) => {
      // The spec keeps locations relative to the model's directory; refuse any that would leave it.
      const relative = normalize(location);
      if (isAbsolute(relative) || relative.startsWith('..')) {
        throw new Error(`ONNX: external data location '${location}' is outside the model's directory`);
      }
      let bytes = files.get(relative);
      if (!bytes) files.set(relative, (bytes = readFileSync(join(dir, relative))));
      return bytes;
    },
  };
}

/** Loads an ONNX model file; external tensor data is read from files beside it. */
export function loadModel(path: string): Model {
  const file = readModelFile(path);
  return decodeModel(file.bytes, file);
}
