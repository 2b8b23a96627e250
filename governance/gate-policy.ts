import { z } from 'zod';

// The release policy a job carries: what a candidate model must meet before a person is asked to sign it off.
// It arrives from outside (API, schedule), so it is parsed here with messages that name the field.

const share = (what: string) =>
  z
    .number({ error: `${what}: expected a number between 0 and 1` })
    .min(0, `${what}: expected a number between 0 and 1`)
    .max(1, `${what}: expected a number between 0 and 1`);

/** '30m', '72h', '7d': the form Temporal's timers accept. */
const DURATION = /^([1-9]\d{0,5})(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MIN_APPROVAL_MS = UNIT_MS.m;
const MAX_APPROVAL_MS = 30 * UNIT_MS.d;

export const gatePolicySchema = z
  .object({
    minAccuracy: share('minAccuracy').optional(),
    /** Expected calibration error, top label, 15 bins (engine/metrics). */
    maxEce: share('maxEce').optional(),
    /**
     * OOD detection AUROC (max softmax) on the job's OOD file. A job without an OOD file fails this rule: its
     * figure was not evaluated, so it cannot be shown to meet the bound.
     */
    minOodAuroc: share('minOodAuroc').optional(),
    /** Batch-1 latency, 95th percentile, in milliseconds. */
    maxP95LatencyMs: z.number().positive('maxP95LatencyMs: expected a positive number of milliseconds').optional(),
    /**
     * The largest drop allowed against the production model, in accuracy and in macro-F1 alike, as a share
     * (0.01 = one point). 0 means never worse: the ratchet only turns forward.
     */
    maxRegression: share('maxRegression').optional(),
    /**
     * The largest share of eval rows that production got right and the candidate gets wrong (its broken churn),
     * however many others it fixes: a better average must not come from breaking what worked.
     */
    maxBrokenShare: share('maxBrokenShare').optional(),
    /**
     * McNemar's test on the rows the two models disagree on: the gate fails when the candidate breaks more rows
     * than it fixes and the test's p-value is below this significance level (e.g. 0.05).
     */
    regressionAlpha: z
      .number({ error: 'regressionAlpha: expected a number between 0 and 1 (exclusive)' })
      .gt(0, 'regressionAlpha: expected a number between 0 and 1 (exclusive)')
      .lt(1, 'regressionAlpha: expected a number between 0 and 1 (exclusive)')
      .optional(),
    /**
     * The lowest lower bound allowed of the bootstrap interval of candidate − production, in accuracy and in
     * macro-F1 alike: 0.01 asks for a gain of at least a point, shown at the interval's confidence; -0.01 asks
     * only that a loss of more than a point be ruled out.
     */
    minGainLowerBound: z
      .number({ error: 'minGainLowerBound: expected a number between -1 and 1' })
      .min(-1, 'minGainLowerBound: expected a number between -1 and 1')
      .max(1, 'minGainLowerBound: expected a number between -1 and 1')
      .optional(),
    /**
     * The largest accuracy drop against production allowed in any one subgroup of the eval rows: each true class,
     * and each declared slice (the eval rows' optional `slice` field). Subgroups smaller than `minSliceRows` are
     * reported but not judged: a few rows swing too far by chance.
     */
    maxSliceRegression: share('maxSliceRegression').optional(),
    /** The fewest rows a subgroup needs to be judged by `maxSliceRegression` (default 30). */
    minSliceRows: z
      .number({ error: 'minSliceRows: expected a whole number of rows, at least 1' })
      .int('minSliceRows: expected a whole number of rows, at least 1')
      .min(1, 'minSliceRows: expected a whole number of rows, at least 1')
      .optional(),
    /**
     * The largest accuracy drop allowed under any perturbation of the eval rows (typos, casing, punctuation, dropped
     * words for text; Gaussian noise, a feature at its mean for features): clean accuracy − perturbed accuracy.
     */
    maxRobustnessDrop: share('maxRobustnessDrop').optional(),
    /** SPDX identifiers, compared case-insensitively with the dataset manifest's licence. */
    allowedLicences: z.array(z.string().min(1)).min(1, 'allowedLicences: list at least one licence').optional(),
    /** Any PII finding in the validation report fails the gate. */
    blockOnPii: z.boolean().default(true),
    /** How long the job waits for a sign-off before it ends as expired. */
    approvalTimeout: z
      .string({ error: "approvalTimeout: required, e.g. '72h'" })
      .regex(DURATION, "approvalTimeout: expected a number and a unit s, m, h or d, e.g. '72h'")
      // A malformed duration is reported by the pattern alone.
      .refine((d) => !DURATION.test(d) || (durationMs(d) >= MIN_APPROVAL_MS && durationMs(d) <= MAX_APPROVAL_MS), {
        error: 'approvalTimeout: expected between 1 minute and 30 days',
      }),
  })
  .strict();

export type GatePolicy = z.output<typeof gatePolicySchema>;
export type GatePolicyInput = z.input<typeof gatePolicySchema>;

export class InvalidGatePolicy extends Error {
  override name = 'InvalidGatePolicy';
}

export function parseGatePolicy(input: unknown): GatePolicy {
  const parsed = gatePolicySchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) =>
      // Messages above already start with the field; zod's own (unknown key, wrong type of root) do not.
      i.path.length === 0 || i.message.startsWith(`${String(i.path[0])}:`)
        ? i.message
        : `${i.path.join('.')}: ${i.message}`,
    );
    throw new InvalidGatePolicy(`invalid policy: ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Milliseconds of a duration such as '72h'. */
export function durationMs(duration: string): number {
  const match = DURATION.exec(duration);
  if (!match) throw new InvalidGatePolicy(`invalid duration ${JSON.stringify(duration)}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
