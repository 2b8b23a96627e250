// The states a job moves through, declared once: the workflow enters them, the API filters and shows them, the CLI
// watches them. Constants and types only, importing nothing, so workflow code may use them.

export const JOB_STATES = [
  'validating',
  'training',
  'distilling',
  'evaluating',
  'gating',
  'awaiting_approval',
  'deploying',
  'deployed',
  'dataset_rejected',
  'gate_failed',
  'rejected',
  'expired',
  'cancelled',
  'failed',
] as const;

export type JobState = (typeof JOB_STATES)[number];

/**
 * Where each state may lead in `fineTuneJob` (workflows/fine-tune-job.ts). Every state not final may also end
 * `cancelled` or `failed`; a final state leads nowhere.
 */
const NEXT: Record<JobState, readonly JobState[]> = {
  validating: ['training', 'dataset_rejected'],
  training: ['distilling', 'evaluating'],
  distilling: ['evaluating'],
  evaluating: ['gating'],
  gating: ['awaiting_approval', 'gate_failed'],
  awaiting_approval: ['deploying', 'rejected', 'expired'],
  deploying: ['deployed'],
  deployed: [],
  dataset_rejected: [],
  gate_failed: [],
  rejected: [],
  expired: [],
  cancelled: [],
  failed: [],
};

/** States a job ends in; `failed` and `cancelled` also end the workflow with an error. */
export const FINAL_STATES: readonly JobState[] = JOB_STATES.filter((state) => NEXT[state].length === 0);

/** Whether the workflow may go from `from` to `to`. */
export function mayFollow(from: JobState, to: JobState): boolean {
  return NEXT[from].includes(to) || (!FINAL_STATES.includes(from) && (to === 'cancelled' || to === 'failed'));
}

/** Where watching a job may stop: it has ended, or waits for a person. */
export const RESTING_STATES: readonly JobState[] = ['awaiting_approval', ...FINAL_STATES];
