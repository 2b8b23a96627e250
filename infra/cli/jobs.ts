// `ratchet jobs create|list|get|watch|cancel`: fine-tuning jobs through the HTTP API.
import { readFile } from 'node:fs/promises';
import { apiCommand, required, table } from './command.ts';
import { watchJob, type Job } from './watch.ts';

type JobSummary = { id: string; status: string; model: string; submitter: string; created_at: string };

const usage = `usage: ratchet jobs <subcommand> [--json]
  create --body FILE [--idempotency-key KEY]   start a job; FILE holds the API's CreateJob JSON ('-' reads stdin)
  list [--status S] [--model M] [--submitter U] [--limit N] [--cursor C]
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
  cursor: { type: 'string' },
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
    const jobPath = () => `/v1/fine-tuning/jobs/${encodeURIComponent(required(positionals, 1, 'JOB_ID'))}`;
    switch (sub) {
      case 'create': {
        if (typeof values.body !== 'string') throw new Error('create needs --body FILE');
        const key = values['idempotency-key'];
        const job = await api.request<{ id: string }>('POST', '/v1/fine-tuning/jobs', {
          json: await readBody(values.body),
          headers: typeof key === 'string' ? { 'idempotency-key': key } : {},
        });
        print(job, () => job.id);
        return 0;
      }
      case 'list': {
        const query = new URLSearchParams();
        for (const name of ['status', 'model', 'submitter', 'limit', 'cursor'])
          if (typeof values[name] === 'string') query.set(name, values[name]);
        const page = await api.request<{ data: JobSummary[]; next_cursor: string | null }>(
          'GET',
          `/v1/fine-tuning/jobs?${query}`,
        );
        print(page, () => {
          const rows = page.data.map((j) => [j.id, j.status, j.model, j.submitter, j.created_at]);
          const more = page.next_cursor ? `\nmore: --cursor ${page.next_cursor}` : '';
          return table(['ID', 'STATUS', 'MODEL', 'SUBMITTER', 'CREATED'], rows) + more;
        });
        return 0;
      }
      case 'get': {
        const job = await api.request<Job>('GET', jobPath());
        print(job, () =>
          [
            `id:        ${job.id}`,
            `model:     ${job.model}`,
            `status:    ${job.status} (stage ${job.stage})`,
            `submitter: ${job.submitter}`,
            ...(job.progress
              ? [`progress:  step ${job.progress.step}/${job.progress.total_steps}, loss ${job.progress.loss}`]
              : []),
            ...(job.decision
              ? [`decision:  ${job.decision.action} by ${job.decision.by}: ${job.decision.reason}`]
              : []),
            ...(job.error ? [`error:     ${job.error.message}`] : []),
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
        return ['deployed', 'awaiting_approval'].includes(job.status) ? 0 : 1;
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
