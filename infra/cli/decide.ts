// `ratchet approve|reject JOB_ID --reason TEXT`: the human sign-off. The server checks the role and that the
// approver did not submit the job; this only sends the decision.
import { apiCommand, required } from './command.ts';
import type { Job } from './watch.ts';

export function decide(action: 'approve' | 'reject', args: string[]): Promise<number> {
  const usage = `usage: ratchet ${action} JOB_ID --reason TEXT [--json]   (needs an approver's RATCHET_API_KEY)`;
  return apiCommand(
    action,
    usage,
    args,
    { reason: { type: 'string' } },
    async ({ api, values, positionals, print }) => {
      const id = required(positionals, 0, 'JOB_ID');
      if (typeof values.reason !== 'string' || values.reason.trim() === '') throw new Error('give --reason TEXT');
      const job = await api.request<Job>('POST', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/${action}`, {
        json: { reason: values.reason },
      });
      print(
        job,
        () => `${id}: ${action === 'approve' ? 'approved' : 'rejected'} by ${job.ratchet.decision?.by ?? '?'}`,
      );
      return 0;
    },
  );
}

export const approve = { run: (args: string[]) => decide('approve', args) };
export const reject = { run: (args: string[]) => decide('reject', args) };
