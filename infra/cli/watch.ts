// Follows a job by polling GET /v1/fine_tuning/jobs/{id}: a line per stage entered and a progress bar while it
// trains (infra/cli/progress.ts: redrawn in place on a terminal, a plain line every few seconds when piped). Shared
// by `ratchet jobs watch` and the demo.
// It reads Ratchet's precise state from the job's `ratchet` field (OpenAI's `status` folds several into one).
import type { Comparison } from '../../engine/metrics/compare.ts';
import type { Drift } from '../../governance/drift.ts';
import { ApiError, type ApiClient } from './api-client.ts';
import { FINAL_STATES, RESTING_STATES, type JobState } from '../../core/jobs/states.ts';
import { jobProgressBar } from './progress.ts';

/** What the job page and the demo read of an evaluation (activities/evaluate.ts). */
export type Evaluation = {
  metrics: { accuracy: number; macro_f1: number; ece: number };
  latency: { p95_ms: number };
};

/** A `fine_tuning.job` as the CLI reads it: OpenAI's fields, and Ratchet's in `ratchet` (api/routes/job-schemas.ts). */
export type Job = {
  id: string;
  /** The architecture or registry model the job started from. */
  model: string;
  /** OpenAI's status: queued, validating_files, running, succeeded, failed, cancelled. */
  status: string;
  fine_tuned_model: string | null;
  created_at: number;
  finished_at: number | null;
  error: { code: string; message: string; param: string | null } | null;
  ratchet: {
    /** The precise state (core/jobs/states.ts). */
    status: string;
    stage: string;
    /** The registry model the candidate becomes a version of. */
    model: string;
    submitter: string;
    progress: { step: number; total_steps: number; loss: number; eval_loss?: number } | null;
    transitions: { state: string; at: string }[];
    evaluation: {
      candidate: Evaluation;
      production?: { version: number; evaluation: Evaluation };
      /** Row by row against production (absent without one, and on jobs evaluated before it existed). */
      comparison?: Comparison;
      /** The training data's drift from production's (absent without production, and on older jobs). */
      drift?: Drift;
    } | null;
    gate: { passed: boolean; rules: { rule: string; passed: boolean; message: string }[] } | null;
    decision: { action: string; by: string; reason: string } | null;
    deployed: { version: number } | null;
  };
};

export async function watchJob(
  api: ApiClient,
  id: string,
  out: NodeJS.WriteStream,
  options: { intervalMs?: number; until?: readonly string[] } = {},
): Promise<Job> {
  const until = options.until ?? (RESTING_STATES as readonly string[]);
  const intervalMs = options.intervalMs ?? 500;
  let stagesShown = 0;
  const bar = jobProgressBar(out);
  for (;;) {
    const job = await readJob(api, id, intervalMs);
    const { ratchet } = job;
    // Every stage from the job's recorded transitions, so a stage shorter than the poll interval is still shown.
    const stages = ratchet.transitions.map((t) => t.state).filter((state) => !FINAL_STATES.includes(state as JobState));
    if (stages.length === 0) stages.push(ratchet.stage);
    for (const stage of stages.slice(stagesShown)) {
      // A new stage (distilling after training) starts its own bar.
      bar.stop();
      out.write(`stage: ${stage}\n`);
    }
    stagesShown = Math.max(stagesShown, stages.length);
    if (ratchet.progress) bar.update(ratchet.progress);
    // A decided job still reads awaiting_approval until the workflow has recorded the decision: not yet at rest.
    const decided = ratchet.status === 'awaiting_approval' && Boolean(ratchet.decision);
    if (until.includes(ratchet.status) && !decided) {
      bar.stop();
      if (ratchet.status !== ratchet.stage)
        out.write(`status: ${ratchet.status}${job.error ? ` (${job.error.message})` : ''}\n`);
      return job;
    }
    await sleep(intervalMs);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long a follower keeps asking through 503s before it gives up. */
const UNAVAILABLE_FOR_MS = 60_000;

/**
 * The job, read again while the API answers 503: the status query found no worker free in time (one busy with a
 * CPU-bound stage, or a Temporal server restarting). Anything else, or a minute of 503s, is the caller's error.
 */
async function readJob(api: ApiClient, id: string, intervalMs: number): Promise<Job> {
  const giveUp = Date.now() + UNAVAILABLE_FOR_MS;
  for (;;) {
    try {
      return await api.request<Job>('GET', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 503) || Date.now() > giveUp) throw error;
      await sleep(Math.max(intervalMs, 1_000));
    }
  }
}
