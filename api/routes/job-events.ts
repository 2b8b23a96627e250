// A job's ledger entries as server-sent events: each entry once, in seq order (the SSE id is the seq, so a
// client reconnecting with Last-Event-ID resumes after it), then `end` once the job's workflow has closed.
import { streamSSE } from 'hono/streaming';
import type { Ledger } from '../../core/ledger/ledger.ts';
import type { ApiContext } from '../http/endpoint.ts';
import type { JobService } from '../temporal/jobs.ts';

// The ledger lives in S3 and has no change feed: it is polled.
const POLL_MS = 500;
// Comments keep proxies from closing a quiet stream.
const KEEPALIVE_MS = 15_000;

export function jobEvents(
  c: ApiContext,
  options: { ledger: Ledger; jobs: JobService; tenant: string; jobId: string; after: number },
) {
  const { ledger, jobs, tenant, jobId } = options;
  return streamSSE(c, async (stream) => {
    let last = options.after;
    let quietSince = Date.now();
    const flush = async () => {
      const entries = await ledger.list(tenant, { subject: jobId });
      for (const entry of entries.filter((e) => e.seq > last)) {
        await stream.writeSSE({ id: String(entry.seq), event: 'entry', data: JSON.stringify(entry) });
        last = entry.seq;
        quietSince = Date.now();
      }
    };
    while (!stream.aborted) {
      // Read the workflow's state before the ledger: entries written before it closed are then all seen.
      const running = (await jobs.describe(jobId)).status.name === 'RUNNING';
      await flush();
      if (!running) {
        await stream.writeSSE({ event: 'end', data: JSON.stringify({ last_seq: last }) });
        return;
      }
      if (Date.now() - quietSince > KEEPALIVE_MS) {
        await stream.write(': keep-alive\n\n');
        quietSince = Date.now();
      }
      await stream.sleep(POLL_MS);
    }
  });
}
