// Opens an ONNX Runtime session on an engine Model with settings that make runs repeatable:
// a fixed intra-op thread count (reductions split the same way every run) and sequential execution.
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../onnx/codec.ts';
import type { Model, TensorData } from '../ir/types.ts';
import { RATCHET_DOMAIN } from '../ir/domains.ts';
import { NativeSession } from './native/runner.ts';

export type ExecutionProvider = 'cpu' | 'cuda';

export interface SessionOptions {
  ep?: ExecutionProvider | 'auto';
  threads?: number;
}

/** What the engine runs a graph with: an onnxruntime-node session, or the native runner's (./native). */
export interface EngineSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * The outputs named in `fetches` (default: all). An output named in `into` is written into the tensor given there
   * (of its type and shape) and handed back as that tensor, so a caller that runs a graph again and again can reuse
   * its buffers instead of taking fresh memory each run.
   */
  run(
    feeds: Record<string, ort.Tensor>,
    fetches?: readonly string[],
    into?: Record<string, ort.Tensor>,
  ): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

/** An onnxruntime-node session as the engine runs it: `into` goes to ORT as preallocated outputs. */
class OrtSession implements EngineSession {
  constructor(private readonly session: ort.InferenceSession) {}

  get inputNames() {
    return this.session.inputNames;
  }

  get outputNames() {
    return this.session.outputNames;
  }

  async run(feeds: Record<string, ort.Tensor>, fetches?: readonly string[], into: Record<string, ort.Tensor> = {}) {
    const wanted = fetches ?? this.session.outputNames;
    const out = await this.session.run(feeds, Object.fromEntries(wanted.map((name) => [name, into[name] ?? null])));
    return Object.fromEntries(wanted.map((name) => [name, into[name] ?? out[name]]));
  }

  release() {
    return this.session.release();
  }
}

const opened = async (bytes: Uint8Array, ep: ExecutionProvider, threads: number) =>
  new OrtSession(await ort.InferenceSession.create(bytes, options(ep, threads)));

export interface OpenedSession {
  session: EngineSession;
  ep: ExecutionProvider;
}

/** Whether the model uses the engine's own kernels, which only the native runner registers (CPU only). */
export function usesOwnKernels(model: Model): boolean {
  return model.extraOpsets?.[RATCHET_DOMAIN] !== undefined;
}

function options(ep: ExecutionProvider, threads: number): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [ep],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // The memory pattern allocates one fresh block on a session's second run: on the encoder's train step that was
    // 34 MB of page faults (8,674 against 1,056 on later runs), a second cold step. The arena alone reuses memory
    // from the first run on.
    enableMemPattern: false,
    // RATCHET_ORT_PROFILE=<path prefix>: every session writes ONNX Runtime's per-node timings (Chrome trace JSON) to
    // <prefix>_<date>.json when released; bench/profile-step.ts reads them. Off unless set: profiling costs time.
    ...(process.env.RATCHET_ORT_PROFILE
      ? { enableProfiling: true, profileFilePrefix: process.env.RATCHET_ORT_PROFILE }
      : {}),
  };
}

// Whether this process can open CUDA sessions is learnt once: a failed CUDA attempt costs a native load error
// on stderr and a session build, which `auto` would otherwise repeat for every train, eval and score session.
let cudaUsable: boolean | undefined;

export async function createSession(model: Model, opts: SessionOptions = {}): Promise<OpenedSession> {
  const threads = opts.threads ?? 2;
  const wanted = opts.ep ?? 'cpu';
  const bytes = encodeModel(model);
  if (usesOwnKernels(model)) {
    if (wanted === 'cuda') throw new Error(`the engine's own kernels (${RATCHET_DOMAIN}) run on the CPU only`);
    return { session: await NativeSession.open(bytes, threads, process.env.RATCHET_ORT_PROFILE), ep: 'cpu' };
  }
  if (wanted !== 'auto') {
    return { session: await opened(bytes, wanted, threads), ep: wanted };
  }
  if (cudaUsable !== false) {
    try {
      const session = await opened(bytes, 'cuda', threads);
      cudaUsable = true;
      return { session, ep: 'cuda' };
    } catch (e) {
      cudaUsable = false;
      console.warn(`ratchet: CUDA execution provider unavailable (${(e as Error).message.split('\n')[0]}); using CPU`);
    }
  }
  return { session: await opened(bytes, 'cpu', threads), ep: 'cpu' };
}

/**
 * Runs `use` on a session opened on `model` and releases the session afterwards: a session holds native memory
 * (its arena, tens of MB for a train step) that a long-running worker must not keep per job.
 */
export async function withSession<T>(
  model: Model,
  opts: SessionOptions,
  use: (session: EngineSession, ep: ExecutionProvider) => Promise<T>,
): Promise<T> {
  const { session, ep } = await createSession(model, opts);
  try {
    return await use(session, ep);
  } finally {
    await session.release();
  }
}

/** An engine tensor as an ORT tensor (shares the typed array, no copy). */
export function toOrt(t: TensorData): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data, t.dims);
}

/** An ORT tensor as an engine tensor. */
export function fromOrt(t: ort.Tensor): TensorData {
  return { dtype: t.type as TensorData['dtype'], dims: [...t.dims], data: t.data as TensorData['data'] };
}
