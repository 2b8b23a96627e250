// The native runner (runner.c) as the engine uses it: loaded once per process, built on first use
// (build.ts), and its sessions shaped like onnxruntime-node's for the engine's callers.
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { RATCHET_DOMAIN } from '../../ir/domains.ts';
import { buildRunner } from './build.ts';

interface WireTensor {
  type: ort.Tensor.Type;
  dims: readonly number[];
  data: ort.Tensor.DataType;
}

interface Addon {
  ortVersion: string;
  open(model: Uint8Array, threads: number, profilePrefix: string | null): object;
  names(session: object): [string[], string[]];
  run(
    session: object,
    names: string[],
    tensors: WireTensor[],
    outputs: string[],
    into?: (WireTensor | null)[],
  ): Promise<WireTensor[]>;
  release(session: object): void;
}

let loading: Promise<Addon | undefined> | undefined;

/**
 * The runner, or undefined where it cannot be built or loaded (the reason is printed once; training then builds
 * its graphs from standard ONNX ops only, with the same results). RATCHET_NATIVE=off turns it off, read per call.
 */
export async function nativeRunner(env: NodeJS.ProcessEnv = process.env): Promise<Addon | undefined> {
  if (env.RATCHET_NATIVE === 'off') return undefined;
  loading ??= load(env);
  return loading;
}

async function load(env: NodeJS.ProcessEnv): Promise<Addon | undefined> {
  try {
    const file = await buildRunner((line) => console.warn(`ratchet: ${line}`), env);
    return createRequire(import.meta.url)(file) as Addon;
  } catch (e) {
    console.warn(
      `ratchet: the engine's native kernels are unavailable (${(e as Error).message}); training runs on ONNX ` +
        `Runtime's standard operators only (the same weights, slower steps). RATCHET_NATIVE=off hides this.`,
    );
    return undefined;
  }
}

const wire = (t: ort.Tensor): WireTensor => ({ type: t.type, dims: t.dims, data: t.data });

/** A session of the native runner, with the part of onnxruntime-node's InferenceSession the engine uses. */
export class NativeSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];

  private constructor(
    private readonly addon: Addon,
    private readonly handle: object,
  ) {
    [this.inputNames, this.outputNames] = addon.names(handle);
  }

  static async open(model: Uint8Array, threads: number, profilePrefix?: string): Promise<NativeSession> {
    const addon = await nativeRunner();
    if (!addon) {
      throw new Error(
        `this graph uses the engine's own kernels (${RATCHET_DOMAIN}) and the native runner is unavailable`,
      );
    }
    return new NativeSession(addon, addon.open(model, threads, profilePrefix ?? null));
  }

  /**
   * Outputs named in `into` are written into the tensors given there (of the output's type and shape) and handed
   * back as those same tensors: no fresh memory for them, which the caller must not read from elsewhere meanwhile.
   */
  async run(
    feeds: Record<string, ort.Tensor>,
    fetches?: readonly string[],
    into: Record<string, ort.Tensor> = {},
  ): Promise<Record<string, ort.Tensor>> {
    const names = Object.keys(feeds);
    const tensors = names.map((n) => wire(feeds[n]));
    const wanted = [...(fetches ?? this.outputNames)];
    const given = wanted.map((n) => (into[n] ? wire(into[n]) : null));
    const outputs = await this.addon.run(this.handle, names, tensors, wanted, given);
    return Object.fromEntries(
      outputs.map((t, i) => [
        wanted[i],
        into[wanted[i]] ?? new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims),
      ]),
    );
  }

  async release(): Promise<void> {
    this.addon.release(this.handle);
  }
}
