// A job's events as server-sent events, live: each ledger entry once, in seq order, as the `fine_tuning.job.event`
// objects GET .../events lists (a metrics event per training step before `model.trained`), then `end` once the
// job's workflow has closed. The stream wakes on the workflow's own changes (a long poll of its history, ./jobs.ts
// nextChange), not on a timer: the ledger is read again only when the workflow has moved on, and then only the
// job's entries after the last one sent (the ledger's index, core/ledger/index.ts). An entry's message event carries
// its seq as the SSE id, and a client reconnecting with Last-Event-ID resumes after it; its metrics events carry
// none, so a client cut off among them gets them again.
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { Ledger } from '../../core/ledger/ledger.ts';
import type { ObjectStore } from '../../core/object-store.ts';
import type { ApiContext } from '../http/endpoint.ts';
import type { JobService } from '../temporal/jobs.ts';
import { jobEvents as eventsOf, trainReport } from './job-object.ts';

// Comments keep proxies from closing a quiet stream.
const KEEPALIVE_MS = 15_000;

export function jobEvents(
  c: ApiContext,
  options: { ledger: Ledger; store: ObjectStore; jobs: JobService; tenant: string; jobId: string; after: number },
) {
  const { ledger, store, jobs, tenant, jobId } = options;
  return streamSSE(c, async (stream) => {
    // The client going away gives up the long poll in flight.
    const gone = new AbortController();
    stream.onAbort(() => gone.abort());
    let last = options.after;
    let quietSince = Date.now();
    const flush = async () => {
      const entries = await ledger.list(tenant, { subject: jobId, after: last });
      for (const entry of entries) {
        const report = entry.action === 'model.trained' ? await trainReport(store, jobId) : {};
        // Oldest first: the metrics events by step, then the entry's message.
        for (const event of eventsOf([entry], report).reverse()) {
          const message = event.id === `ftevent-${entry.seq}`;
          await stream.writeSSE({ id: message ? String(entry.seq) : undefined, data: JSON.stringify(event) });
        }
        last = entry.seq;
        quietSince = Date.now();
      }
    };
    let token: Uint8Array | undefined;
    try {
      while (!stream.aborted) {
        // The workflow's history before the ledger: entries written before it closed are then all seen.
        const change = await keptAlive(stream, jobs.nextChange(jobId, { token, signal: gone.signal }), () => {
          const quiet = Date.now() - quietSince;
          if (quiet < KEEPALIVE_MS) return KEEPALIVE_MS - quiet;
          quietSince = Date.now();
          return 0;
        });
        if (change.changed || !change.token) await flush();
        if (!change.token) {
          await stream.writeSSE({ event: 'end', data: JSON.stringify({ last_seq: last }) });
          return;
        }
        token = change.token;
      }
    } catch (error) {
      // The client left: the long poll was given up.
      if (gone.signal.aborted) return;
      // The headers (200) are sent: only an event can say the stream broke. The client reconnects with the last
      // id it saw (Last-Event-ID) and misses nothing. The message only: an error's dump could hold a key.
      const message = error instanceof Error ? error.message : String(error);
      console.error(`api: event stream of ${jobId} broke: ${message}`);
      await stream.writeSSE({
        event: 'error',
        data: JSON.stringify({
          error: { code: 'stream_interrupted', message: `the job's events could not be followed: ${message}` },
          last_seq: last,
        }),
      });
    }
  });
}

/** What `waiting` resolves to, with a keep-alive comment written whenever `due` (ms until the next) says 0. */
async function keptAlive<T>(stream: SSEStreamingApi, waiting: Promise<T>, due: () => number): Promise<T> {
  const settled = waiting.then((value) => ({ value }));
  // Rejected while a keep-alive is being written: still answered by the race below.
  settled.catch(() => {});
  for (;;) {
    const ms = due();
    if (ms === 0) {
      await stream.write(': keep-alive\n\n');
      continue;
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), ms)));
    const result = await Promise.race([settled, tick]).finally(() => clearTimeout(timer));
    if (result !== 'tick') return result.value;
  }
}
