// `ratchet jobs create|list|get|watch|cancel`: fine-tuning jobs through the HTTP API.
import { readFile } from 'node:fs/promises';
import { apiCommand, required, table } from './command.ts';
import { watchJob, type Job } from './watch.ts';

const usage = `usage: ratchet jobs <subcommand> [--json]
  create --body FILE [--idempotency-key KEY]   start a job; FILE holds the API's CreateFineTuningJob JSON
                      ('-' reads stdin): model and training_file suffice
  list [--status S] [--model M] [--submitter U] [--limit N] [--after JOB_ID]
                      S is Ratchet's precise state (e.g. awaiting_approval), M the registry model
  get JOB_ID
  watch JOB_ID        the stage and a progress bar until the job ends or awaits approval
                      (exit 0 when deployed or awaiting approval, 1 otherwise)
  cancel JOB_ID
environment: RATCHET_API_URL (default http://127.0.0.1:8080), RATCHET_API_KEY`;

const options = {
  body: { type: 'string' },
  'idempotency-key': { type: 'string' },
  status: { type: 'string' },
  model: { type: 'string' },
  submitter: { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
} as const;

async function readBody(path: string): Promise<unknown> {
  const text =
    path === '-' ? await new Response(process.stdin as unknown as ReadableStream).text() : await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`--body ${path}: not JSON (${(error as Error).message})`);
  }
}

export function run(args: string[]): Promise<number> {
  return apiCommand('jobs', usage, args, options, async ({ api, values, positionals, print }) => {
    const [sub] = positionals;
    const jobPath = () => `/v1/fine_tuning/jobs/${encodeURIComponent(required(positionals, 1, 'JOB_ID'))}`;
    switch (sub) {
      case 'create': {
        if (typeof values.body !== 'string') throw new Error('create needs --body FILE');
        const key = values['idempotency-key'];
        const job = await api.request<{ id: string }>('POST', '/v1/fine_tuning/jobs', {
          json: await readBody(values.body),
          headers: typeof key === 'string' ? { 'idempotency-key': key } : {},
        });
        print(job, () => job.id);
        return 0;
      }
      case 'list': {
        const query = new URLSearchParams();
        for (const name of ['status', 'model', 'submitter', 'limit', 'after'])
          if (typeof values[name] === 'string') query.set(name, values[name]);
        const page = await api.request<{ data: Job[]; has_more: boolean; last_id: string | null }>(
          'GET',
          `/v1/fine_tuning/jobs?${query}`,
        );
        print(page, () => {
          const rows = page.data.map((j) => [
            j.id,
            j.ratchet.status,
            j.ratchet.model,
            j.ratchet.submitter,
            new Date(j.created_at * 1000).toISOString(),
          ]);
          const more = page.has_more ? `\nmore: --after ${page.last_id}` : '';
          return table(['ID', 'STATUS', 'MODEL', 'SUBMITTER', 'CREATED'], rows) + more;
        });
        return 0;
      }
      case 'get': {
        const job = await api.request<Job>('GET', jobPath());
        const { progress, decision } = job.ratchet;
        print(job, () =>
          [
            `id:        ${job.id}`,
            `model:     ${job.ratchet.model} (from ${job.model})`,
            `status:    ${job.ratchet.status} (stage ${job.ratchet.stage}; OpenAI status ${job.status})`,
            `submitter: ${job.ratchet.submitter}`,
            ...(progress ? [`progress:  step ${progress.step}/${progress.total_steps}, loss ${progress.loss}`] : []),
            ...(decision ? [`decision:  ${decision.action} by ${decision.by}: ${decision.reason}`] : []),
            ...(job.fine_tuned_model ? [`deployed:  ${job.fine_tuned_model}`] : []),
            ...(job.error ? [`error:     ${job.error.code}: ${job.error.message}`] : []),
          ].join('\n'),
        );
        return 0;
      }
      case 'watch': {
        const job = await watchJob(
          api,
          required(positionals, 1, 'JOB_ID'),
          values.json ? process.stderr : process.stdout,
        );
        if (values.json) print(job, () => '');
        return ['deployed', 'awaiting_approval'].includes(job.ratchet.status) ? 0 : 1;
      }
      case 'cancel': {
        const reply = await api.request<{ id: string }>('POST', `${jobPath()}/cancel`);
        print(reply, () => `cancellation requested for ${reply.id}`);
        return 0;
      }
      default:
        throw new Error(sub ? `unknown subcommand '${sub}' (see --help)` : 'give a subcommand (see --help)');
    }
  });
}
