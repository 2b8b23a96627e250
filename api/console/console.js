// The console's script: reads the API with the key the user gave (kept for this tab only) and renders the inbox
// or one job. Decisions are POSTed to the API, which checks the role and separation of duties; the page shows the
// server's answer, refusals included. A job is OpenAI's `fine_tuning.job`; the page shows Ratchet's precise state,
// stage and results from its `ratchet` field.
const $ = (id) => document.getElementById(id);
const KEY = 'ratchet.apiKey';
const POLL_MS = 1000;

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: {
      authorization: `Bearer ${sessionStorage.getItem(KEY) ?? ''}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = /json/.test(response.headers.get('content-type') ?? '') ? await response.json() : await response.text();
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}: ${data.error?.message ?? data}`);
  return data;
}

/** An element with text (never HTML: job fields are user input). */
function el(tag, text, attrs = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function fillTable(table, header, rows) {
  table.replaceChildren();
  const head = el('tr');
  for (const h of header) head.append(el('th', h));
  table.append(head);
  if (rows.length === 0) table.append(el('tr')).append(el('td', '(none)'));
  for (const cells of rows) {
    const tr = el('tr');
    for (const cell of cells) {
      const td = el('td');
      td.append(cell instanceof Node ? cell : document.createTextNode(String(cell)));
      tr.append(td);
    }
    table.append(tr);
  }
}

const jobLink = (id) => el('a', id, { href: `/console/jobs/${encodeURIComponent(id)}` });
/** A job's created_at (Unix seconds) as an ISO time. */
const created = (job) => new Date(job.created_at * 1000).toISOString();
const showError = (error) => ($('error').textContent = error ? String(error.message ?? error) : '');

async function inbox() {
  $('inbox').hidden = false;
  const pending = await api('GET', '/v1/fine_tuning/jobs?status=awaiting_approval&limit=100');
  fillTable(
    $('pending'),
    ['Job', 'Model', 'Submitter', 'Created'],
    pending.data.map((j) => [jobLink(j.id), j.ratchet.model, j.ratchet.submitter, created(j)]),
  );
  const recent = await api('GET', '/v1/fine_tuning/jobs?limit=20');
  fillTable(
    $('recent'),
    ['Job', 'Status', 'Model', 'Submitter', 'Created'],
    recent.data.map((j) => [jobLink(j.id), j.ratchet.status, j.ratchet.model, j.ratchet.submitter, created(j)]),
  );
}

/** Loss points seen while polling, by step: the live curve. */
const losses = new Map();

function drawLoss() {
  const svg = $('loss');
  const points = [...losses].sort(([a], [b]) => a - b);
  svg.replaceChildren();
  if (points.length === 0) return;
  const maxStep = Math.max(...points.map(([s]) => s), 1);
  const maxLoss = Math.max(...points.map(([, l]) => l), 1e-9);
  const xy = points.map(([s, l]) => `${(590 * s) / maxStep + 5},${195 - (190 * l) / maxLoss}`).join(' ');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', xy);
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', '#3366cc');
  line.setAttribute('stroke-width', '2');
  svg.append(line);
  const [step, loss] = points.at(-1);
  $('loss-caption').textContent = `step ${step}: loss ${loss.toFixed(4)} (max ${maxLoss.toFixed(4)})`;
}

const pct = (x) => (typeof x === 'number' ? `${(100 * x).toFixed(1)} %` : '-');
const num = (x, digits = 3) => (typeof x === 'number' ? x.toFixed(digits) : '-');

function renderComparison(evaluation) {
  if (!evaluation) return fillTable($('comparison'), ['Metric'], []);
  const c = evaluation.candidate;
  const p = evaluation.production?.evaluation;
  const rows = [
    ['accuracy', (e) => pct(e.metrics.accuracy)],
    ['macro-F1', (e) => pct(e.metrics.macro_f1)],
    ['ECE', (e) => num(e.metrics.ece)],
    ['Brier', (e) => num(e.metrics.brier)],
    ['latency p95 (ms)', (e) => num(e.latency.p95_ms, 2)],
  ];
  const production = evaluation.production ? `production (v${evaluation.production.version})` : 'production (none yet)';
  fillTable(
    $('comparison'),
    ['Metric', 'candidate', production],
    rows.map(([name, f]) => [name, f(c), p ? f(p) : '-']),
  );
}

async function renderCard({ ratchet: job }) {
  const card = $('card');
  card.replaceChildren();
  if (job.gate) {
    const list = el('ul');
    for (const rule of job.gate.rules)
      list.append(
        el('li', `${rule.passed ? 'PASS' : 'FAIL'} ${rule.rule}: ${rule.message}`, {
          class: rule.passed ? 'passed' : 'failed',
        }),
      );
    card.append(el('p', `Release policy: ${job.gate.passed ? 'passed' : 'failed'}`), list);
  }
  if (job.deployed) {
    const markdown = await api(
      'GET',
      `/v1/models/${encodeURIComponent(job.model)}/versions/${job.deployed.version}/card?format=markdown`,
    );
    card.append(el('pre', typeof markdown === 'string' ? markdown : JSON.stringify(markdown, null, 2)));
  } else if (!job.gate) {
    card.append(el('p', 'Written when the release policy has been applied.', { class: 'hint' }));
  }
}

let cardRendered = '';

async function jobPage(id) {
  $('job').hidden = false;
  const openai = await api('GET', `/v1/fine_tuning/jobs/${encodeURIComponent(id)}`);
  const job = openai.ratchet;
  $('job-title').textContent = `Job ${openai.id}`;
  $('job-summary').textContent = `model ${job.model} · status ${job.status} · submitted by ${job.submitter}`;
  const timeline = $('timeline');
  timeline.replaceChildren(
    ...job.transitions.map((t, i) =>
      el('li', `${t.state} — ${t.at}`, i === job.transitions.length - 1 ? { class: 'current' } : {}),
    ),
  );
  if (job.progress) losses.set(job.progress.step, job.progress.loss);
  drawLoss();
  if (losses.size === 0 && job.metrics) $('loss-caption').textContent = `training done: ${JSON.stringify(job.metrics)}`;
  renderComparison(job.evaluation);
  // The card is fetched once per state, not every poll.
  if (cardRendered !== job.status) {
    cardRendered = job.status;
    await renderCard(openai);
  }
  $('decision').textContent = job.decision
    ? `${job.decision.action === 'approve' ? 'Approved' : 'Rejected'} by ${job.decision.by}: ${job.decision.reason}`
    : job.status === 'awaiting_approval'
      ? `Awaiting sign-off until ${job.approval_deadline}.`
      : 'Not awaiting approval.';
  $('decide').hidden = job.status !== 'awaiting_approval';
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

async function start() {
  $('key').value = sessionStorage.getItem(KEY) ?? '';
  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $('key').value.trim());
    location.reload();
  });
  if (!sessionStorage.getItem(KEY)) return showError('Enter an API key to continue.');
  const match = /^\/console\/jobs\/([^/]+)$/.exec(location.pathname);
  try {
    if (!match) return await inbox();
    const id = decodeURIComponent(match[1]);
    $('approve').addEventListener('click', () => decide(id, 'approve'));
    $('reject').addEventListener('click', () => decide(id, 'reject'));
    // Polled, not streamed: the loss lives in the training heartbeat, not in the ledger's event stream.
    for (;;) {
      const job = await jobPage(id);
      // OpenAI's final statuses: every way a Ratchet job ends is one of them.
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (error) {
    showError(error);
  }
}

start();
