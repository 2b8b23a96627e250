// `ratchet jobs watch` follows a job through the API's transient 503s (no worker answered the status query in time)
// and shows every stage the job recorded, however short; any other error ends it.
import { describe, expect, it } from 'vitest';
import { ApiError, type ApiClient } from '../../infra/cli/api-client.ts';
import { watchJob, type Job } from '../../infra/cli/watch.ts';

const job = (status: string, states: string[], decision: Job['ratchet']['decision'] = null) =>
  ({
    id: 'j',
    error: null,
    ratchet: {
      status,
      stage: status,
      progress: null,
      decision,
      transitions: states.map((state) => ({ state, at: '' })),
    },
  }) as unknown as Job;

function scripted(answers: (Job | Error)[]): ApiClient & { calls: number } {
  const client = {
    url: 'http://api',
    calls: 0,
    async request<T>(): Promise<T> {
      const answer = answers[Math.min(client.calls++, answers.length - 1)];
      if (answer instanceof Error) throw answer;
      return answer as T;
    },
  };
  return client;
}

const sink = () => {
  const lines: string[] = [];
  return { lines, out: { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream };
};

describe('watchJob', () => {
  it('asks again through 503s and prints every recorded stage', async () => {
    const unavailable = new ApiError(503, '503 Service Unavailable: no worker answered');
    const api = scripted([
      job('validating', ['validating']),
      unavailable,
      unavailable,
      job('awaiting_approval', ['validating', 'training', 'evaluating', 'gating', 'awaiting_approval']),
    ]);
    const { lines, out } = sink();
    const done = await watchJob(api, 'j', out, { intervalMs: 1 });
    expect(done.ratchet.status).toBe('awaiting_approval');
    expect(api.calls).toBe(4);
    expect(lines.join('')).toBe(
      ['validating', 'training', 'evaluating', 'gating', 'awaiting_approval'].map((s) => `stage: ${s}\n`).join(''),
    );
  });

  it('follows a job approved a moment ago past awaiting_approval: the workflow has yet to record the decision', async () => {
    const gated = ['validating', 'training', 'evaluating', 'gating', 'awaiting_approval'];
    const approval = { action: 'approve', by: 'ada', reason: 'ok' };
    const api = scripted([
      job('awaiting_approval', gated, approval),
      job('deployed', [...gated, 'deploying', 'deployed'], approval),
    ]);
    const { lines, out } = sink();
    const done = await watchJob(api, 'j', out, { intervalMs: 1 });
    expect(done.ratchet.status).toBe('deployed');
    expect(api.calls).toBe(2);
    expect(lines.join('')).toContain('stage: deploying\n');
  });

  it('stops at any other error', async () => {
    const api = scripted([new ApiError(404, '404 Not Found: no job j')]);
    await expect(watchJob(api, 'j', sink().out, { intervalMs: 1 })).rejects.toThrow('404 Not Found');
    expect(api.calls).toBe(1);
  });
});
