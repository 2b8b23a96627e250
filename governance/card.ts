import type { DatasetFile } from './dataset/findings.ts';
import type { ValidationReport } from './dataset/validate.ts';
import type { Comparison } from '../engine/metrics/compare.ts';
import type { Interval } from '../engine/metrics/uncertainty.ts';
import type { EvaluationMetrics } from '../engine/metrics/evaluate.ts';
import type { LatencyReport } from '../engine/metrics/latency.ts';
import type { GateResult } from './gate.ts';
import type { GatePolicy } from './gate-policy.ts';
import { driftLines, type Drift } from './drift.ts';
import { cell, figure, num, signed, table } from './markdown.ts';

// The model card an approver reads before signing off: what the model is for, what it was made from, how it
// measures against production, what the gate said, and how each part answers the NIST AI RMF functions.
// Pure and deterministic: the same inputs give the same bytes (the card's sha256 is pinned in the registry).

export type CardEvaluation = {
  metrics: EvaluationMetrics;
  latency?: LatencyReport;
  /** Accuracy under input perturbation, by perturbation name, where measured. */
  robustness?: Record<string, number>;
};

/** One model's scores on the eval file, and its size in weights. */
export type CardModelScores = { accuracy: number; macro_f1: number; loss: number; parameters: number };

/** A candidate distilled from a teacher: both scored on the same eval rows. */
export type CardDistillation = {
  teacher_sha256: string;
  temperature: number;
  alpha: number;
  teacher: CardModelScores;
  student: CardModelScores;
};

export type ModelCardInput = {
  model: string;
  version: number;
  /** ISO 8601, from the caller. */
  created: string;
  owner: string;
  submitter: string;
  /** Absent until sign-off. */
  approver?: string;
  intendedUse: string;
  limitations: string[];
  candidate: CardEvaluation;
  production?: { version: number; evaluation: CardEvaluation };
  /** The candidate against production row by row; absent without production and in older evaluations. */
  comparison?: Comparison;
  /** How far the training data moved from production's; absent without production and in older evaluations. */
  drift?: Drift;
  validation: Pick<ValidationReport, 'passed' | 'files' | 'findings' | 'manifest'>;
  training: {
    method: string;
    base_model?: {
      name: string;
      version?: string | number;
      sha256: string;
      /** An imported base's licence and the sha256s of the files it was built from. */
      licence?: string;
      source_sha256?: Record<string, string>;
    };
    hyperparameters: Record<string, unknown>;
    seed: number;
    code_version: string;
  };
  /** Set when the candidate is a student distilled from a teacher. */
  distillation?: CardDistillation;
  policy: GatePolicy;
  gate: GateResult;
  /** How the deployed model is watched, e.g. 'weekly re-evaluation on the newest labelled data'. */
  monitoring?: string;
};

type Headline = {
  accuracy: number;
  macro_f1: number;
  ece: number;
  brier: number;
  nll: number;
  auroc?: number;
  ood_auroc?: number;
  p95_latency_ms?: number;
};

export type ModelCard = ReturnType<typeof modelCardJson>;

export function modelCardJson(input: ModelCardInput) {
  const { candidate, production, validation, gate } = input;
  const files = Object.fromEntries(
    (Object.entries(validation.files) as [DatasetFile, ValidationReport['files']['train']][]).map(([file, s]) => [
      file,
      { sha256: s.sha256, bytes: s.bytes, records: s.records, labels: s.labels },
    ]),
  );
  const metrics = {
    candidate: headline(candidate),
    per_class: candidate.metrics.per_class,
    production: production ? { version: production.version, ...headline(production.evaluation) } : null,
    change_vs_production: production
      ? {
          accuracy: candidate.metrics.accuracy - production.evaluation.metrics.accuracy,
          macro_f1: candidate.metrics.macro_f1 - production.evaluation.metrics.macro_f1,
          ece: candidate.metrics.ece - production.evaluation.metrics.ece,
        }
      : null,
    // Left out, not null, when absent: a card rendered from an older evaluation keeps its bytes.
    ...(production && input.comparison ? { comparison: input.comparison } : {}),
    ...(candidate.robustness ? { robustness: robustnessOf(candidate, production?.evaluation) } : {}),
  };
  const data = {
    validation_passed: validation.passed,
    files,
    licence: validation.manifest?.licence ?? null,
    source: validation.manifest?.source ?? null,
    findings: validation.findings.map((f) => ({
      code: f.code,
      severity: f.severity,
      file: f.file ?? null,
      count: f.count,
    })),
    // Left out, not null, when absent: a card rendered from an older evaluation keeps its bytes.
    ...(input.drift ? { drift: input.drift } : {}),
  };
  const failed = gate.rules.filter((r) => !r.passed).map((r) => r.rule);
  const rollbackPlan = production
    ? `promoting this version keeps version ${production.version} as the previous production; one rollback call restores it`
    : 'first production version: there is nothing to roll back to; withdrawing it means promoting another version';

  return {
    schema: 'ratchet.model-card/1' as const,
    model: input.model,
    version: input.version,
    created: input.created,
    intended_use: input.intendedUse,
    limitations: input.limitations,
    metrics,
    data,
    training: input.training,
    ...(input.distillation ? { distillation: input.distillation } : {}),
    gate: { passed: gate.passed, failed_rules: failed, rules: gate.rules },
    nist_ai_rmf: {
      govern: {
        owner: input.owner,
        submitter: input.submitter,
        approver: input.approver ?? null,
        policy: input.policy,
        separation_of_duties: 'the approver holds the approver role and is not the submitter',
      },
      map: {
        intended_use: input.intendedUse,
        limitations: input.limitations,
        data_provenance: {
          source: data.source,
          licence: data.licence,
          sha256: Object.fromEntries(Object.entries(files).map(([file, s]) => [file, s.sha256])),
          base_model: input.training.base_model ?? null,
        },
      },
      measure: {
        performance: { accuracy: metrics.candidate.accuracy, macro_f1: metrics.candidate.macro_f1 },
        calibration: { ece: metrics.candidate.ece, brier: metrics.candidate.brier, nll: metrics.candidate.nll },
        robustness: {
          ood_auroc: candidate.metrics.ood_auroc ?? null,
          perturbation: candidate.robustness ?? null,
        },
        latency: candidate.latency ? { p50_ms: candidate.latency.p50_ms, p95_ms: candidate.latency.p95_ms } : null,
      },
      manage: {
        gate_passed: gate.passed,
        failed_rules: failed,
        approval_timeout: input.policy.approvalTimeout,
        rollback_plan: rollbackPlan,
        monitoring: input.monitoring ?? null,
      },
    },
  };
}

function headline({ metrics, latency }: CardEvaluation): Headline {
  return {
    accuracy: metrics.accuracy,
    macro_f1: metrics.macro_f1,
    ece: metrics.ece,
    brier: metrics.brier,
    nll: metrics.nll,
    ...(metrics.auroc !== undefined ? { auroc: metrics.auroc } : {}),
    ...(metrics.ood_auroc !== undefined ? { ood_auroc: metrics.ood_auroc } : {}),
    ...(latency ? { p95_latency_ms: latency.p95_ms } : {}),
  };
}

/** The card as markdown and JSON; the markdown is written from the JSON, so the two never disagree. */
export function renderModelCard(input: ModelCardInput): { markdown: string; json: ModelCard } {
  const json = modelCardJson(input);
  return { markdown: markdownOf(json), json };
}

/** The teacher beside the student it taught; nothing for a model trained directly. */
function distillationSection(distillation: CardDistillation | undefined): string[] {
  if (!distillation) return [];
  const { teacher, student } = distillation;
  return [
    '## Distillation',
    '',
    `Distilled from the teacher \`${distillation.teacher_sha256}\` at temperature ${distillation.temperature}, ` +
      `alpha ${distillation.alpha}: the student has ${student.parameters} weights, the teacher ${teacher.parameters}.`,
    '',
    table(
      ['Model', 'Parameters', 'Accuracy', 'Macro-F1', 'Eval loss'],
      [
        [
          'Student (this candidate)',
          student.parameters,
          num(student.accuracy),
          num(student.macro_f1),
          num(student.loss),
        ],
        ['Teacher', teacher.parameters, num(teacher.accuracy), num(teacher.macro_f1), num(teacher.loss)],
      ],
    ),
    '',
  ];
}

/** Accuracy under each perturbation, and its drop from clean accuracy, for the candidate and production. */
type RobustnessRow = {
  perturbation: string;
  candidate: number;
  candidate_drop: number;
  production: number | null;
  production_drop: number | null;
};

function robustnessOf(candidate: CardEvaluation, production: CardEvaluation | undefined): RobustnessRow[] {
  return Object.entries(candidate.robustness ?? {}).map(([perturbation, accuracy]) => {
    const other = production?.robustness?.[perturbation];
    return {
      perturbation,
      candidate: accuracy,
      candidate_drop: candidate.metrics.accuracy - accuracy,
      production: other ?? null,
      production_drop: production && other !== undefined ? production.metrics.accuracy - other : null,
    };
  });
}

/** Accuracy under perturbation beside the clean accuracy; nothing when it was not measured. */
function robustnessLines(rows: RobustnessRow[] | undefined): string[] {
  if (!rows) return [];
  const drop = (x: number | null) => (x === null ? '–' : signed(-x));
  return [
    'Accuracy under perturbation of the eval rows (change from clean accuracy; seeded, the same rows for both models):',
    '',
    table(
      ['Perturbation', 'Candidate', 'Change', 'Production', 'Change'],
      rows.map((r) => [
        r.perturbation,
        num(r.candidate),
        drop(r.candidate_drop),
        num(r.production),
        drop(r.production_drop),
      ]),
    ),
    '',
  ];
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/** The candidate against production row by row; nothing when there was no comparison. */
function comparisonSection(comparison: Comparison | undefined): string[] {
  if (!comparison) return [];
  const { churn } = comparison;
  const rows = (indices: number[]) => (indices.length ? indices.join(', ') : 'none');
  return [
    '### Against production, row by row',
    '',
    `Churn: ${churn.changed} of ${churn.rows} eval rows (${percent(churn.changed_share)}) changed prediction. ` +
      `Fixed (production wrong, candidate right): ${churn.fixed} (${percent(churn.fixed_share)}). ` +
      `Broken (production right, candidate wrong): ${churn.broken} (${percent(churn.broken_share)}).`,
    '',
    `Example rows (0-based, in eval-file order): fixed ${rows(churn.examples.fixed)}; broken ${rows(churn.examples.broken)}.`,
    '',
    ...uncertaintyLines(comparison.uncertainty),
    ...sliceLines(comparison.slices),
  ];
}

/** How many subgroups the markdown lists, worst first; the JSON holds them all. */
const CARD_SLICES = 10;

/** Accuracy per class and declared slice, worst change first. */
function sliceLines(slices: Comparison['slices']): string[] {
  const shown = slices.slice(0, CARD_SLICES);
  return [
    `Accuracy by class and by declared slice, worst change first${slices.length > shown.length ? ` (${shown.length} of ${slices.length}; card.json lists all)` : ''}:`,
    '',
    table(
      ['Subgroup', 'Kind', 'Rows', 'Candidate', 'Production', 'Change'],
      shown.map((s) => [
        s.name,
        s.kind,
        s.rows,
        num(s.candidate_accuracy),
        num(s.production_accuracy),
        signed(s.change),
      ]),
    ),
    '',
  ];
}

/** The bootstrap intervals and McNemar's test, as an approver reads them. */
function uncertaintyLines({ bootstrap, mcnemar }: Comparison['uncertainty']): string[] {
  const level = `${Math.round(bootstrap.confidence * 1000) / 10} %`;
  const shown = (i: Interval, show: (x: number) => string) => `${show(i.estimate)} [${show(i.low)}, ${show(i.high)}]`;
  const metrics: [string, 'accuracy' | 'macro_f1'][] = [
    ['Accuracy', 'accuracy'],
    ['Macro-F1', 'macro_f1'],
  ];
  return [
    `${level} intervals from a paired bootstrap (${bootstrap.resamples} resamples of the eval rows, seed ${bootstrap.seed}):`,
    '',
    table(
      ['Metric', 'Candidate', 'Production', 'Candidate − production'],
      metrics.map(([label, key]) => {
        const m = bootstrap[key];
        return [label, shown(m.candidate, num), shown(m.production, num), shown(m.difference, signed)];
      }),
    ),
    '',
    `McNemar's test (${mcnemar.method}) on the ${mcnemar.fixed + mcnemar.broken} rows the models disagree on ` +
      `(${mcnemar.fixed} fixed, ${mcnemar.broken} broken): p = ${num(mcnemar.p_value)}.`,
    '',
  ];
}

function markdownOf(card: ModelCard): string {
  const { metrics, data, training, gate, nist_ai_rmf: rmf } = card;
  const production = metrics.production;
  const rows: [string, keyof Headline][] = [
    ['Accuracy', 'accuracy'],
    ['Macro-F1', 'macro_f1'],
    ['ECE', 'ece'],
    ['Brier', 'brier'],
    ['NLL', 'nll'],
    ['AUROC', 'auroc'],
    ['OOD AUROC (max softmax)', 'ood_auroc'],
    ['p95 latency, batch 1 (ms)', 'p95_latency_ms'],
  ];
  const shown = rows.filter(([, key]) => metrics.candidate[key] !== undefined || production?.[key] !== undefined);
  const list = (items: string[]) => (items.length ? items.map((i) => `- ${cell(i)}`).join('\n') : '- none stated');

  return [
    `# Model card: ${card.model} version ${card.version}`,
    '',
    `Created ${card.created}. Gate: **${gate.passed ? 'passed' : 'failed'}**.`,
    '',
    '## Intended use',
    '',
    cell(card.intended_use),
    '',
    '## Limitations',
    '',
    list(card.limitations),
    '',
    '## Metrics',
    '',
    production
      ? table(
          ['Metric', 'Candidate', `Production (v${production.version})`, 'Change'],
          shown.map(([label, key]) => {
            const [c, p] = [metrics.candidate[key], production[key]];
            return [label, num(c), num(p), c !== undefined && p !== undefined ? signed(c - p) : '–'];
          }),
        )
      : table(
          ['Metric', 'Candidate'],
          shown.map(([label, key]) => [label, num(metrics.candidate[key])]),
        ),
    '',
    production ? '' : 'No production model yet: nothing to compare with.\n',
    ...robustnessLines(metrics.robustness),
    ...comparisonSection(metrics.comparison),
    table(
      ['Class', 'Precision', 'Recall', 'F1', 'Support'],
      Object.entries(metrics.per_class).map(([label, s]) => [
        label,
        num(s.precision),
        num(s.recall),
        num(s.f1),
        s.support,
      ]),
    ),
    '',
    '## Data',
    '',
    `Validation: ${data.validation_passed ? 'passed' : 'failed'}. Licence: ${cell(data.licence ?? 'not declared')}. Source: ${cell(data.source ?? 'not declared')}.`,
    '',
    table(
      ['File', 'Records', 'Bytes', 'sha256'],
      Object.entries(data.files).map(([file, s]) => [file, s.records, s.bytes, `\`${s.sha256}\``]),
    ),
    '',
    data.findings.length
      ? table(
          ['Finding', 'Severity', 'File', 'Count'],
          data.findings.map((f) => [f.code, f.severity, f.file ?? '–', f.count]),
        )
      : 'No validation findings.',
    '',
    ...driftLines(data.drift),
    '## Training',
    '',
    table(
      ['Setting', 'Value'],
      [
        ['Method', training.method],
        ['Base model', baseModelLine(training)],
        ['Seed', training.seed],
        ['Code version', training.code_version],
        ...Object.entries(training.hyperparameters).map(([name, value]) => [name, JSON.stringify(value)]),
      ],
    ),
    '',
    ...distillationSection(card.distillation),
    '## Policy gate',
    '',
    table(
      ['Rule', 'Result', 'Actual', 'Threshold', 'Why'],
      gate.rules.map((r) => [
        r.rule,
        r.passed ? 'pass' : '**FAIL**',
        typeof r.actual === 'number' ? figure(r.actual) : (r.actual ?? '–'),
        Array.isArray(r.threshold) ? r.threshold.join(', ') : r.threshold,
        r.message,
      ]),
    ),
    '',
    '## NIST AI RMF',
    '',
    '### Govern',
    '',
    list([
      `Owner: ${rmf.govern.owner}`,
      `Submitter: ${rmf.govern.submitter}`,
      `Approver: ${rmf.govern.approver ?? 'pending sign-off'}`,
      `Policy: ${JSON.stringify(rmf.govern.policy)}`,
      `Separation of duties: ${rmf.govern.separation_of_duties}`,
    ]),
    '',
    '### Map',
    '',
    list([
      `Intended use: ${rmf.map.intended_use}`,
      `Limitations: ${rmf.map.limitations.length ? rmf.map.limitations.join('; ') : 'none stated'}`,
      `Data provenance: source ${rmf.map.data_provenance.source ?? 'not declared'}, licence ${rmf.map.data_provenance.licence ?? 'not declared'}, ` +
        Object.entries(rmf.map.data_provenance.sha256)
          .map(([file, sha]) => `${file} sha256 ${sha}`)
          .join(', '),
      `Base model: ${baseModelLine(training)}`,
    ]),
    '',
    '### Measure',
    '',
    list([
      `Performance: accuracy ${num(rmf.measure.performance.accuracy)}, macro-F1 ${num(rmf.measure.performance.macro_f1)}`,
      `Calibration: ECE ${num(rmf.measure.calibration.ece)}, Brier ${num(rmf.measure.calibration.brier)}, NLL ${num(rmf.measure.calibration.nll)}`,
      `Robustness: OOD AUROC ${num(rmf.measure.robustness.ood_auroc)}; perturbation ${
        rmf.measure.robustness.perturbation
          ? Object.entries(rmf.measure.robustness.perturbation)
              .map(([name, acc]) => `${name} ${num(acc)}`)
              .join(', ')
          : 'not measured'
      }`,
      `Latency: ${rmf.measure.latency ? `p50 ${num(rmf.measure.latency.p50_ms)} ms, p95 ${num(rmf.measure.latency.p95_ms)} ms` : 'not measured'}`,
    ]),
    '',
    '### Manage',
    '',
    list([
      `Gate: ${rmf.manage.gate_passed ? 'passed' : `failed (${rmf.manage.failed_rules.join(', ')})`}`,
      `Sign-off expires after ${rmf.manage.approval_timeout}`,
      `Rollback: ${rmf.manage.rollback_plan}`,
      `Monitoring: ${rmf.manage.monitoring ?? 'not stated'}`,
    ]),
    '',
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
}

type CardBase = NonNullable<ModelCardInput['training']['base_model']>;

/**
 * What the model was trained from. A distilled student starts from scratch but learnt from its teacher, so the
 * teacher's base model (recorded in the student's hyperparameters) is its provenance too.
 */
function baseModelLine(training: ModelCardInput['training']): string {
  if (training.base_model) return baseModelCell(training.base_model);
  const teacher = training.hyperparameters.teacher as { base_model?: CardBase } | undefined;
  if (teacher?.base_model)
    return `none for the student; its teacher was fine-tuned from ${baseModelCell(teacher.base_model)}`;
  return 'none (trained from scratch)';
}

/** The base model's row: name, version and sha256, and an imported base's licence and source files' sha256s. */
function baseModelCell(base: CardBase): string {
  const named = `${base.name} ${base.version ?? ''} (${base.sha256})`.replace('  ', ' ');
  const sources = Object.entries(base.source_sha256 ?? {}).map(([file, sha]) => `${file} sha256 ${sha}`);
  return [named, ...(base.licence ? [`licence ${base.licence}`] : []), ...sources].join('; ');
}
