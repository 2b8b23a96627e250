// The model card from real parts: metrics from engine/metrics' evaluate, a report from the real validator, the
// gate's verdicts. Checked for the content an approver and an auditor need, and for byte-identical output.
import { describe, expect, it } from 'vitest';
import { validateDataset } from '../../governance/dataset/validate.ts';
import { compareModels } from '../../engine/metrics/compare.ts';
import { evaluate } from '../../engine/metrics/evaluate.ts';
import { renderModelCard, type ModelCardInput } from '../../governance/card.ts';
import { gate } from '../../governance/gate.ts';
import { parseGatePolicy } from '../../governance/gate-policy.ts';
import { measureDataDrift } from '../../engine/train/data-drift.ts';

const labelNames = ['ham', 'sp|am'];
const labels = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1];
/** Logits whose argmax is right for the first `right` rows. */
const predictions = (right: number) => labels.map((y, i) => (i < right ? y : 1 - y));
const logits = (right: number) => labels.flatMap((y, i) => (i < right === (y === 1) ? [-1, 1.5] : [1.2, -0.8]));

const train = Array.from({ length: 20 }, (_, i) => ({
  text: `message number ${i} about ${i % 3} things`,
  label: i % 2 ? 'spam' : 'ham',
}));

async function input(options: { production?: boolean; approver?: string } = {}): Promise<ModelCardInput> {
  const text = train.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const validation = await validateDataset(
    {
      train: (async function* () {
        yield new TextEncoder().encode(text);
      })(),
    },
    { manifest: { licence: 'CC-BY-4.0', source: 'SpamAssassin public corpus' } },
  );
  const policy = parseGatePolicy({ approvalTimeout: '48h', minAccuracy: 0.95, maxRegression: 0.02 });
  const candidate = {
    metrics: evaluate(logits(9), labels, labelNames),
    latency: { p50_ms: 0.4, p95_ms: 0.9, throughput_rows_per_s: 5000, throughput_batch: 32, runs: 50, warmup: 5 },
  };
  const production = options.production
    ? { version: 3, evaluation: { metrics: evaluate(logits(8), labels, labelNames) } }
    : undefined;
  return {
    model: 'spam',
    version: 4,
    created: '2026-11-28T06:30:00Z',
    owner: 'ml-platform',
    submitter: 'alice',
    approver: options.approver,
    intendedUse: 'Flag likely spam in the support inbox for a human to review.',
    limitations: ['English email only', 'Trained on 2002-2005 mail:\nnewer spam styles may be missed'],
    candidate,
    production,
    validation,
    training: {
      method: 'lora',
      base_model: { name: 'spam-base', version: 2, sha256: 'b'.repeat(64) },
      hyperparameters: { lr: 0.001, rank: 8 },
      seed: 7,
      code_version: '0.1.0+abc1234',
    },
    policy,
    gate: gate(policy, candidate, production?.evaluation, validation),
    monitoring: 'weekly re-evaluation on newly labelled mail',
  };
}

describe('model card', () => {
  it('holds every section, the NIST AI RMF functions among them', async () => {
    const { markdown } = renderModelCard(await input({ production: true }));
    const headings = markdown.split('\n').filter((line) => line.startsWith('#'));
    expect(headings).toEqual([
      '# Model card: spam version 4',
      '## Intended use',
      '## Limitations',
      '## Metrics',
      '## Data',
      '## Training',
      '## Policy gate',
      '## NIST AI RMF',
      '### Govern',
      '### Map',
      '### Measure',
      '### Manage',
    ]);
  });

  it('compares with production and shows the gate verdicts with their figures', async () => {
    const card = renderModelCard(await input({ production: true }));
    expect(card.json.metrics.candidate.accuracy).toBe(0.9);
    expect(card.json.metrics.production).toMatchObject({ version: 3, accuracy: 0.8 });
    expect(card.json.metrics.change_vs_production?.accuracy).toBeCloseTo(0.1, 12);
    expect(card.markdown).toContain('| Accuracy | 0.9000 | 0.8000 | +0.1000 |');
    expect(card.markdown).toContain('| p95 latency, batch 1 (ms) | 0.9000 | – | – |');
    // minAccuracy 0.95 fails at 0.9; the regression rules pass (an improvement).
    expect(card.json.gate).toMatchObject({ passed: false, failed_rules: ['min_accuracy'] });
    expect(card.markdown).toContain('| min_accuracy | **FAIL** | 0.9000 | 0.95 | accuracy 0.9000 < 0.9500 |');
    expect(card.markdown).toContain('| pii | pass | 0 | true | no PII found in the data |');
    expect(card.markdown).toContain('Gate: **failed**');
  });

  it('states the churn against production, and renders an evaluation without it as before', async () => {
    const plain = await input({ production: true });
    const comparison = compareModels({
      labels,
      candidate: predictions(9),
      production: predictions(8),
      labelNames,
    });
    const { json, markdown } = renderModelCard({ ...plain, comparison });
    expect(json.metrics.comparison?.churn).toMatchObject({ changed: 1, fixed: 1, broken: 0 });
    expect(markdown).toContain('### Against production, row by row');
    expect(markdown).toContain(
      'Churn: 1 of 10 eval rows (10.0 %) changed prediction. Fixed (production wrong, candidate right): 1 (10.0 %). ' +
        'Broken (production right, candidate wrong): 0 (0.0 %).',
    );
    expect(markdown).toContain('Example rows (0-based, in eval-file order): fixed 8; broken none.');
    // The intervals, as figures the approver can check against the JSON.
    const { bootstrap } = comparison.uncertainty;
    expect(json.metrics.comparison?.uncertainty.bootstrap).toEqual(bootstrap);
    expect(markdown).toContain('95 % intervals from a paired bootstrap (1000 resamples of the eval rows, seed 0):');
    const [c, p, d] = [bootstrap.accuracy.candidate, bootstrap.accuracy.production, bootstrap.accuracy.difference];
    const sign = (x: number) => (x > 0 ? '+' : '') + x.toFixed(4);
    expect(c.high).toBe(1);
    expect(markdown).toContain(
      `| Accuracy | 0.9000 [${c.low.toFixed(4)}, 1.0000] | 0.8000 [${p.low.toFixed(4)}, ${p.high.toFixed(4)}] | ` +
        `+0.1000 [${sign(d.low)}, ${sign(d.high)}] |`,
    );
    expect(markdown).toContain(
      "McNemar's test (exact binomial) on the 1 rows the models disagree on (1 fixed, 0 broken): p = 1.0000.",
    );
    expect(markdown).toContain('Accuracy by class and by declared slice, worst change first:');
    expect(markdown).toContain('| Subgroup | Kind | Rows | Candidate | Production | Change |');
    // Row 8 (ham) is fixed; row 9 (spam) is wrong for both: ham gains, spam does not, and is listed first.
    expect(markdown).toContain(
      '| sp\\|am | class | 5 | 0.8000 | 0.8000 | 0.0000 |\n| ham | class | 5 | 1.0000 | 0.8000 | +0.2000 |',
    );
    const old = renderModelCard(plain);
    expect(old.json.metrics).not.toHaveProperty('comparison');
    expect(old.markdown).not.toContain('row by row');
  });

  it('shows the drift of the training data from production, ranked, or why it was not measured', async () => {
    const plain = await input({ production: true });
    const reference = { version: 3, train_key: 'datasets/v3/train.jsonl', train_sha256: 'a'.repeat(64) };
    const rows = (shift: number) =>
      Array.from({ length: 60 }, (_, i) => JSON.stringify({ features: [i % 7, (i % 5) + shift], label: 'a' })).join(
        '\n',
      );
    const features = await measureDataDrift(rows(0), rows(3));
    const { json, markdown } = renderModelCard({
      ...plain,
      drift: { measured: true, production: reference, ...features },
    });
    expect(json.data.drift).toMatchObject({ measured: true, kind: 'features' });
    expect(markdown).toContain("### Drift from production's training data (version 3)");
    expect(markdown).toContain('| Feature | PSI | Shift | Production mean | New mean |');
    // Feature 1 moved by 3, feature 0 not at all: feature 1 is listed first.
    expect(markdown).toMatch(/\| 1 \| \d+\.\d{4} \| major \| 2\.0000 \| 5\.0000 \|\n\| 0 \| 0\.0000 \| none \|/);
    const { shared } = features.rows;
    expect(markdown).toContain(
      `60 new training rows (${shared} of them also in production's) against production's 60.`,
    );
    expect(markdown).toContain(
      `Classifier two-sample test of production's rows against the rows new to it (mlp, 5-fold, seed 0, 60 + ${60 - shared} rows): held-out AUC`,
    );
    const same = await measureDataDrift(rows(0), rows(0));
    const unchanged = renderModelCard({ ...plain, drift: { measured: true, production: reference, ...same } });
    expect(unchanged.markdown).toContain(
      "No classifier two-sample test: 0 of the new rows are not in production's training data.",
    );

    const texts = (extra: string) =>
      Array.from({ length: 40 }, (_, i) => JSON.stringify({ text: `note ${i % 4} ${extra}`, label: 'a' })).join('\n');
    const tokens = await measureDataDrift(texts('about lunch'), texts('about invoices'));
    const text = renderModelCard({ ...plain, drift: { measured: true, production: reference, ...tokens } }).markdown;
    expect(text).toContain('Jensen–Shannon divergence of word frequencies:');
    expect(text).toMatch(/\| (invoices|lunch) \| /);

    const skipped = renderModelCard({
      ...plain,
      drift: { measured: false, reason: 'no recorded training file key', production: { version: 3 } },
    });
    expect(skipped.markdown).toContain('Not measured: no recorded training file key.');
    const old = renderModelCard(plain);
    expect(old.json.data).not.toHaveProperty('drift');
    expect(old.markdown).not.toContain('Drift from');
  });

  it('states accuracy under perturbation for both models, in the metrics and the NIST Measure function', async () => {
    const plain = await input({ production: true });
    const candidate = { ...plain.candidate, robustness: { typos: 0.85, word_drop: 0.7 } };
    const production = { version: 3, evaluation: { ...plain.production!.evaluation, robustness: { typos: 0.8 } } };
    const { json, markdown } = renderModelCard({ ...plain, candidate, production });
    expect(json.metrics.robustness?.[0]).toMatchObject({ perturbation: 'typos', candidate: 0.85, production: 0.8 });
    expect(json.metrics.robustness?.[1]).toMatchObject({ perturbation: 'word_drop', production: null });
    expect(json.nist_ai_rmf.measure.robustness.perturbation).toEqual({ typos: 0.85, word_drop: 0.7 });
    expect(markdown).toContain('| Perturbation | Candidate | Change | Production | Change |');
    expect(markdown).toContain('| typos | 0.8500 | -0.0500 | 0.8000 | 0.0000 |');
    expect(markdown).toContain('| word_drop | 0.7000 | -0.2000 | – | – |');
    expect(markdown).toContain('perturbation typos 0.8500, word_drop 0.7000');
    // An evaluation without it renders as before.
    expect(renderModelCard(plain).json.metrics).not.toHaveProperty('robustness');
  });

  it('states data provenance, training settings and the NIST AI RMF mapping', async () => {
    const cardInput = await input({ production: true, approver: 'bob' });
    const { json, markdown } = renderModelCard(cardInput);
    const trainSha = cardInput.validation.files.train.sha256;
    expect(json.nist_ai_rmf.govern).toMatchObject({ owner: 'ml-platform', submitter: 'alice', approver: 'bob' });
    expect(json.nist_ai_rmf.govern.policy.approvalTimeout).toBe('48h');
    expect(json.nist_ai_rmf.map.data_provenance).toEqual({
      source: 'SpamAssassin public corpus',
      licence: 'CC-BY-4.0',
      sha256: { train: trainSha },
      base_model: { name: 'spam-base', version: 2, sha256: 'b'.repeat(64) },
    });
    expect(json.nist_ai_rmf.measure.calibration.ece).toBe(cardInput.candidate.metrics.ece);
    expect(json.nist_ai_rmf.measure.robustness).toEqual({ ood_auroc: null, perturbation: null });
    expect(json.nist_ai_rmf.manage.rollback_plan).toMatch(/version 3 as the previous production/);
    expect(markdown).toContain(`\`${trainSha}\``);
    expect(markdown).toContain('| Seed | 7 |');
    expect(markdown).toContain('| rank | 8 |');
    expect(markdown).toContain('- Approver: bob');
    expect(markdown).toContain('- Monitoring: weekly re-evaluation on newly labelled mail');
  });

  it('sets a distilled student beside its teacher: sha256, size and scores', async () => {
    const distillation = {
      teacher_sha256: 'c'.repeat(64),
      temperature: 2,
      alpha: 0.6,
      teacher: { accuracy: 0.95, macro_f1: 0.94, loss: 0.2, parameters: 1_000 },
      student: { accuracy: 0.9, macro_f1: 0.89, loss: 0.3, parameters: 100 },
    };
    const { json, markdown } = renderModelCard({ ...(await input()), distillation });
    expect(json.distillation).toEqual(distillation);
    const headings = markdown.split('\n').filter((line) => line.startsWith('## '));
    expect(headings.slice(headings.indexOf('## Training'), headings.indexOf('## Training') + 3)).toEqual([
      '## Training',
      '## Distillation',
      '## Policy gate',
    ]);
    expect(markdown).toContain(`Distilled from the teacher \`${'c'.repeat(64)}\` at temperature 2, alpha 0.6`);
    expect(markdown).toContain('| Student (this candidate) | 100 | 0.9000 | 0.8900 | 0.3000 |');
    expect(markdown).toContain('| Teacher | 1000 | 0.9500 | 0.9400 | 0.2000 |');
  });

  it("names a student's provenance through its teacher's base model, not 'trained from scratch'", async () => {
    const base = { name: 'minilm', version: 1, sha256: 'd'.repeat(64), licence: 'Apache-2.0' };
    const plain = await input();
    const training = {
      ...plain.training,
      method: 'distill',
      base_model: undefined,
      hyperparameters: { teacher: { method: 'lora:8', base_model: base } },
    };
    const { markdown } = renderModelCard({ ...plain, training });
    const expected = `none for the student; its teacher was fine-tuned from minilm 1 (${'d'.repeat(64)}); licence Apache-2.0`;
    expect(markdown).toContain(`| Base model | ${expected} |`);
    expect(markdown).toContain(`Base model: ${expected}`);
    expect(markdown).not.toContain('trained from scratch');
  });

  it('says when there is no production model and no approver yet', async () => {
    const { json, markdown } = renderModelCard(await input());
    expect(json.metrics.production).toBeNull();
    expect(markdown).toContain('No production model yet: nothing to compare with.');
    expect(markdown).toContain('- Approver: pending sign-off');
    expect(json.nist_ai_rmf.manage.rollback_plan).toMatch(/nothing to roll back to/);
  });

  it('keeps caller text from reshaping tables or lists', async () => {
    const { markdown } = renderModelCard(await input());
    expect(markdown).toContain('| sp\\|am |');
    expect(markdown).toContain('- Trained on 2002-2005 mail: newer spam styles may be missed');
  });

  it('is deterministic: equal inputs give identical bytes', async () => {
    const [a, b] = [
      renderModelCard(await input({ production: true })),
      renderModelCard(await input({ production: true })),
    ];
    expect(b.markdown).toBe(a.markdown);
    expect(JSON.stringify(b.json)).toBe(JSON.stringify(a.json));
  });
});
