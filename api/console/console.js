// The console's script: reads the API with the key the user gave (kept for this tab only) and renders the inbox
// or one job. Decisions are POSTed to the API, which checks the role and separation of duties; the page shows the
// server's answer, refusals included. A job is OpenAI's `fine_tuning.job`; the page shows Ratchet's precise state,
// stage and results from its `ratchet` field. Job fields are user input: text goes in as text, never as HTML.
import { renderMarkdown } from './markdown.js';

const $ = (id) => document.getElementById(id);
const KEY = 'ratchet.apiKey';
const POLL_MS = 1000;

/** An error answer from the API, its status kept so the page can say what it means. */
class ApiError extends Error {
  constructor(response, data) {
    super(`${response.status} ${response.statusText}: ${data?.error?.message ?? data}`);
    this.status = response.status;
  }
}

async function api(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${sessionStorage.getItem(KEY) ?? ''}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    throw new Error(`Cannot reach the API: ${error.message}`);
  }
  const data = /json/.test(response.headers.get('content-type') ?? '') ? await response.json() : await response.text();
  if (!response.ok) throw new ApiError(response, data);
  return data;
}

/** An element with text (never HTML: job fields are user input). */
function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

/** A table of `rows` under `header`; with no rows, one row saying `empty` (what an empty list means here). */
function fillTable(table, header, rows, empty = '(none)') {
  const tr = (cells, tag) => {
    const row = el('tr');
    for (const cell of cells) {
      const td = el(tag);
      td.append(cell instanceof Node ? cell : String(cell));
      row.append(td);
    }
    return row;
  };
  table.replaceChildren(tr(header, 'th'));
  for (const cells of rows) table.append(tr(cells, 'td'));
  if (rows.length === 0) {
    const none = el('tr');
    none.append(el('td', empty, { colspan: header.length, class: 'hint' }));
    table.append(none);
  }
}

/** OpenAI's final statuses: every way a Ratchet job ends is one of them. */
const ended = (job) => ['succeeded', 'failed', 'cancelled'].includes(job.status);
const jobLink = (id) => el('a', id, { href: `/console/jobs/${encodeURIComponent(id)}` });
/** A job's created_at (Unix seconds) as an ISO time. */
const created = (job) => new Date(job.created_at * 1000).toISOString();

/** What went wrong, in words a user can act on; an empty message clears it. */
function showError(error) {
  let message = error ? String(error.message ?? error) : '';
  if (error?.status === 401) message = `The API did not accept this key (${message}). Enter another key above.`;
  $('error').textContent = message;
}

async function inbox() {
  const [pending, recent] = await Promise.all([
    api('GET', '/v1/fine_tuning/jobs?status=awaiting_approval&limit=100'),
    api('GET', '/v1/fine_tuning/jobs?limit=20'),
  ]);
  fillTable(
    $('pending'),
    ['Job', 'Model', 'Submitter', 'Created'],
    pending.data.map((j) => [jobLink(j.id), j.ratchet.model, j.ratchet.submitter, created(j)]),
    'No job awaits approval.',
  );
  fillTable(
    $('recent'),
    ['Job', 'Status', 'Model', 'Submitter', 'Created'],
    recent.data.map((j) => [jobLink(j.id), j.ratchet.status, j.ratchet.model, j.ratchet.submitter, created(j)]),
    'No jobs yet.',
  );
  $('inbox').hidden = false;
}

/**
 * The loss curve, by step. The job's `metrics` events carry every step's loss once training has ended (and are
 * read whenever they appear); while it trains, each poll adds the step its progress reports, so the curve grows
 * live from the moment the page opened. `complete`: the events have been read after training ended.
 */
const curve = { train: new Map(), valid: new Map(), last: null, complete: false };

/** Every `metrics` event of the job, oldest first (the API lists newest first, a page at a time). */
async function metricsEvents(id) {
  const events = [];
  let after = '';
  for (;;) {
    const page = await api('GET', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/events?limit=1000${after}`);
    events.push(...page.data.filter((e) => e.type === 'metrics'));
    if (!page.has_more || page.data.length === 0) return events.reverse();
    after = `&after=${encodeURIComponent(page.data.at(-1).id)}`;
  }
}

/** Whether the job has reached training (or distillation): before that there is no loss to draw. */
const trains = (job) => job.transitions.some((t) => t.state === 'training' || t.state === 'distilling');

async function updateCurve(openai) {
  const job = openai.ratchet;
  if (job.progress) curve.train.set(job.progress.step, job.progress.loss);
  if (curve.complete || !trains(job)) return;
  // Today's API writes the metrics events when training ends; they are asked for at each poll so that a server
  // which writes them sooner is drawn from them too. Once training (job.metrics) or the job has ended, this read
  // holds every step and is the last.
  const done = job.metrics !== null || ended(openai);
  const events = await metricsEvents(openai.id);
  if (events.length > 0) {
    curve.train = new Map(events.map((e) => [e.data.step, e.data.train_loss]));
    const validated = events.filter((e) => typeof e.data.valid_loss === 'number');
    curve.valid = new Map(validated.map((e) => [e.data.step, e.data.valid_loss]));
    curve.last = events.at(-1).data;
  }
  curve.complete = done;
}

const SVG = 'http://www.w3.org/2000/svg';
const svg = (tag, attrs, text) => {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
};

/** The curve in the 600 x 200 chart: loss from 0 (bottom) to its maximum (top), step 0 to the last step. */
function drawLoss(openai) {
  const chart = $('loss');
  const sorted = (points) => [...points].filter(([, l]) => Number.isFinite(l)).sort(([a], [b]) => a - b);
  const train = sorted(curve.train);
  const valid = sorted(curve.valid);
  chart.replaceChildren();
  if (train.length === 0) {
    $('loss-caption').textContent = trains(openai.ratchet)
      ? 'Waiting for the first step…'
      : ended(openai)
        ? 'Not trained.'
        : 'Not trained yet.';
    return;
  }
  const maxStep = Math.max(...train.map(([s]) => s), 1);
  const maxLoss = Math.max(...train.map(([, l]) => l), ...valid.map(([, l]) => l), 1e-9);
  const line = (points, kind) =>
    svg('polyline', {
      class: kind,
      fill: 'none',
      'stroke-width': 2,
      points: points.map(([s, l]) => `${(560 * s) / maxStep + 35},${185 - (175 * l) / maxLoss}`).join(' '),
    });
  chart.append(
    line(train, 'train'),
    ...(valid.length > 0 ? [line(valid, 'valid')] : []),
    svg('text', { x: 2, y: 14 }, maxLoss.toPrecision(3)),
    svg('text', { x: 2, y: 188 }, '0'),
    svg('text', { x: 595, y: 198, 'text-anchor': 'end' }, `step ${maxStep}`),
  );
  const [step, loss] = train.at(-1);
  const { progress } = openai.ratchet;
  const last = curve.last;
  const and = (label, x, format = (v) => v.toFixed(4)) => (typeof x === 'number' ? `, ${label} ${format(x)}` : '');
  $('loss-caption').textContent = progress
    ? `step ${step} of ${progress.total_steps}: training loss ${loss.toFixed(4)}` +
      and('validation loss', progress.eval_loss)
    : last
      ? `${step} steps: final training loss ${loss.toFixed(4)}` +
        and('validation loss', last.full_valid_loss) +
        and('accuracy', last.full_valid_accuracy, pct)
      : `step ${step}: training loss ${loss.toFixed(4)} (the last step seen)`;
}

const pct = (x) => (typeof x === 'number' ? `${(100 * x).toFixed(1)} %` : '-');
const num = (x, digits = 3) => (typeof x === 'number' ? x.toFixed(digits) : '-');

function renderComparison(openai) {
  const evaluation = openai.ratchet.evaluation;
  if (!evaluation)
    return fillTable($('comparison'), ['Metric'], [], ended(openai) ? 'Not evaluated.' : 'Not evaluated yet.');
  const c = evaluation.candidate;
  const p = evaluation.production?.evaluation;
  const rows = [
    ['accuracy', (e) => pct(e.metrics.accuracy)],
    ['macro-F1', (e) => pct(e.metrics.macro_f1)],
    ['ECE', (e) => num(e.metrics.ece)],
    ['Brier', (e) => num(e.metrics.brier)],
    ['latency p95 (ms)', (e) => num(e.latency?.p95_ms, 2)],
  ];
  const production = evaluation.production ? `production (v${evaluation.production.version})` : 'production (none yet)';
  fillTable(
    $('comparison'),
    ['Metric', 'candidate', production],
    rows.map(([name, f]) => [name, f(c), p ? f(p) : '-']),
  );
}

/**
 * How far the job's training data moved from the production model's (the evaluation's drift report): the features
 * by PSI or the words that moved most, and the classifier two-sample test. Shown only when there is a production model.
 */
function renderDrift(openai) {
  const drift = openai.ratchet.evaluation?.drift;
  $('drift-section').hidden = !drift;
  if (!drift) return;
  const summary = $('drift-summary');
  if (!drift.measured) {
    summary.textContent = `Not measured against production v${drift.production.version}: ${drift.reason}.`;
    return fillTable($('drift'), ['Drift'], [], 'Not measured.');
  }
  const test = drift.two_sample;
  const p = test.p_value < 1e-4 ? '< 0.0001' : num(test.p_value, 4);
  summary.textContent =
    `Against production v${drift.production.version}'s training data (${drift.rows.reference} rows; ` +
    `${drift.rows.current} new, ${drift.rows.shared} of them also in production's). ` +
    (test.skipped
      ? `No two-sample test: ${test.skipped}.`
      : `Two-sample test (${test.model}): held-out AUC ${num(test.auc)}, p ${p}.`);
  if (drift.kind === 'features') {
    fillTable(
      $('drift'),
      ['feature', 'PSI', 'shift', 'production mean', 'new mean'],
      drift.features.features
        .slice(0, 5)
        .map((f) => [f.feature, num(f.psi), f.level, num(f.reference_mean), num(f.current_mean)]),
    );
  } else {
    summary.textContent += ` Word-frequency JS divergence ${num(drift.tokens.js_divergence)} bits.`;
    fillTable(
      $('drift'),
      ['word', 'production share', 'new share'],
      drift.tokens.moved.slice(0, 5).map((t) => [t.token, pct(t.reference_share), pct(t.current_share)]),
    );
  }
}

/** Why the job failed (OpenAI's error), and the validator's findings when its dataset was rejected. */
function renderFailure(openai) {
  const box = $('job-error');
  box.hidden = !openai.error;
  if (!openai.error) return box.replaceChildren();
  const findings = openai.ratchet.report?.findings;
  const list = el('ul');
  for (const f of Array.isArray(findings) ? findings : []) {
    const where = [f.file, f.examples?.length ? `line ${f.examples.join(', ')}` : ''].filter(Boolean).join(', ');
    list.append(el('li', `${f.severity} ${f.code}${where ? ` (${where})` : ''}: ${f.message}`));
  }
  box.replaceChildren(el('strong', `Failed (${openai.error.code}): `), openai.error.message);
  if (list.childElementCount > 0) box.append(list);
}

async function renderCard({ ratchet: job }) {
  const card = $('card');
  const parts = [];
  if (job.gate) {
    const list = el('ul');
    for (const rule of job.gate.rules)
      list.append(
        el('li', `${rule.passed ? 'PASS' : 'FAIL'} ${rule.rule}: ${rule.message}`, {
          class: rule.passed ? 'passed' : 'failed',
        }),
      );
    parts.push(el('p', `Release policy: ${job.gate.passed ? 'passed' : 'failed'}`), list);
  }
  if (job.deployed) {
    const markdown = await api(
      'GET',
      `/v1/models/${encodeURIComponent(job.model)}/versions/${job.deployed.version}/card?format=markdown`,
    );
    const doc = el('article', undefined, { class: 'card-doc' });
    doc.append(renderMarkdown(String(markdown)));
    parts.push(doc);
  } else if (!job.gate) {
    parts.push(el('p', 'Written when the release policy has been applied.', { class: 'hint' }));
  }
  card.replaceChildren(...parts);
}

let cardRendered = '';

async function jobPage(id) {
  const openai = await api('GET', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}`);
  const job = openai.ratchet;
  $('job-title').textContent = `Job ${openai.id}`;
  $('job-summary').textContent =
    `model ${job.model} · status ${openai.status} (${job.status}) · stage ${job.stage} · submitted by ${job.submitter}`;
  renderFailure(openai);
  const timeline = $('timeline');
  timeline.replaceChildren(
    ...job.transitions.map((t, i) =>
      el('li', `${t.state} — ${t.at}`, i === job.transitions.length - 1 ? { class: 'current' } : {}),
    ),
  );
  await updateCurve(openai);
  drawLoss(openai);
  renderComparison(openai);
  renderDrift(openai);
  // The card is fetched once per state, not every poll.
  if (cardRendered !== job.status) {
    await renderCard(openai);
    cardRendered = job.status;
  }
  $('decision').textContent = job.decision
    ? `${job.decision.action === 'approve' ? 'Approved' : 'Rejected'} by ${job.decision.by}: ${job.decision.reason}`
    : job.status === 'awaiting_approval'
      ? `Awaiting sign-off until ${job.approval_deadline}.`
      : 'Not awaiting approval.';
  $('decide').hidden = job.status !== 'awaiting_approval';
  $('job').hidden = false;
  return openai;
}

async function decide(id, action) {
  const reason = $('reason').value.trim();
  if (!reason) return showError('Give a reason.');
  try {
    await api('POST', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/${action}`, { reason });
    showError('');
    await jobPage(id);
  } catch (error) {
    showError(error);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the job until it ends (the loss lives in the training heartbeat, which no event stream carries). */
async function watchJob(id) {
  let job = await jobPage(id);
  $('loading').hidden = true;
  while (!ended(job)) {
    await sleep(POLL_MS);
    try {
      job = await jobPage(id);
    } catch (error) {
      // A failed poll (a restart, a dropped connection) is shown and the next one tried; the page stays as it was.
      showError(error);
    }
  }
}

async function start() {
  $('key').value = sessionStorage.getItem(KEY) ?? '';
  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $('key').value.trim());
    location.reload();
  });
  if (!sessionStorage.getItem(KEY)) return showError('Enter an API key to continue.');
  const match = /^\/console\/jobs\/([^/]+)$/.exec(location.pathname);
  $('loading').hidden = false;
  try {
    if (!match) return await inbox();
    const id = decodeURIComponent(match[1]);
    $('approve').addEventListener('click', () => decide(id, 'approve'));
    $('reject').addEventListener('click', () => decide(id, 'reject'));
    await watchJob(id);
  } catch (error) {
    showError(error);
  } finally {
    $('loading').hidden = true;
  }
}

start();
