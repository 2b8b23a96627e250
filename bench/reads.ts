// Reads that must not grow with the tenant: a job's ledger entries, the new ones a live stream sends, one action's
// entries, and a tenant's model list, on a tenant with 10,000 ledger entries (500 jobs × 20) and 1,000 models,
// beside a second tenant as large. Each read is timed R times on the real S3 server of a stack of its own, through
// the index and listings the API uses now and through the previous design in the same run (every entry of the
// tenant read and filtered; every tenant's models listed, then each version's versions, aliases and record).
// Run: node --import tsx bench/reads.ts [entries=10000] [models=1000] [rounds=30]
import { createHash, randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { canonicalJson } from '../core/ledger/canonical.ts';
import { entryKey, sealEntry, type LedgerEntry } from '../core/ledger/entry.ts';
import { Ledger } from '../core/ledger/ledger.ts';
import { mapLimited } from '../core/map-limited.ts';
import { ObjectStore } from '../core/object-store.ts';
import { Registry } from '../core/registry/registry.ts';
import { startLocalStack } from './local-stack.ts';

const [entriesArg, modelsArg, roundsArg] = process.argv.slice(2).map(Number);
const ENTRIES = entriesArg || 10_000;
const MODELS = modelsArg || 1_000;
const ROUNDS = roundsArg || 30;
const PER_JOB = 20;
const say = (line: string) => console.error(`bench: ${line}`);

const local = await startLocalStack('reads', say);
const store = new ObjectStore(local.s3, local.bucket);
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** A tenant's chain written as whole objects at once (as a long-lived tenant has it), without the index. */
async function seedLedger(scope: string): Promise<void> {
  const entries: LedgerEntry[] = [];
  for (let seq = 1; seq <= ENTRIES; seq++) {
    const job = `ftjob-${Math.floor((seq - 1) / PER_JOB)}`;
    const action = (seq - 1) % PER_JOB === PER_JOB - 1 ? 'model.deployed' : 'job.progress';
    const body = { ts: '2026-12-06T00:00:00Z', actor: 'bench', action, subject: job, inputs: {}, outputs: {} };
    entries.push(sealEntry({ ...body, details: { seq }, scope, seq, prev: entries.at(-1)?.hash ?? null }));
  }
  await mapLimited(entries, 16, (entry) =>
    local.s3.send(
      new PutObjectCommand({ Bucket: local.bucket, Key: entryKey(scope, entry.seq), Body: canonicalJson(entry) }),
    ),
  );
}

async function seedModels(registry: Registry, tenant: string): Promise<void> {
  await mapLimited(
    Array.from({ length: MODELS }, (_, i) => `${tenant}--model-${i}`),
    16,
    (name) =>
      registry.registerVersion(
        name,
        { model: new Uint8Array(16), metrics: { accuracy: 0.9 }, card: { markdown: '# card\n', json: {} } },
        {
          job_id: `ftjob-${name}`,
          created: '2026-12-06T00:00:00Z',
          datasets: { train: sha('train'), eval: sha('eval') },
          method: 'full',
          hyperparameters: {},
          seed: 1,
          code_version: 'bench',
          worker_build_id: 'bench',
          submitter: 'bench',
        },
      ),
  );
}

async function timed(rounds: number, read: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await read();
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

const tenants = ['acme', 'globex'];
const rows: string[] = [];
const row = (what: string, now: { p50: number; p99: number }, before?: { p50: number; p99: number }) => {
  const f = (n: number) => n.toFixed(1);
  const ratio = before ? `${(before.p50 / now.p50).toFixed(0)}×` : '';
  rows.push(
    `| ${what} | ${f(now.p50)} | ${f(now.p99)} | ${before ? f(before.p50) : ''} | ${before ? f(before.p99) : ''} | ${ratio} |`,
  );
  say(rows.at(-1)!);
};

try {
  const scope = `reads-${randomUUID().slice(0, 6)}`;
  let started = performance.now();
  await seedLedger(scope);
  say(`${ENTRIES} entries written in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const registry = new Registry(store);
  started = performance.now();
  for (const tenant of tenants) await seedModels(registry, tenant);
  say(
    `${MODELS} models × ${tenants.length} tenants registered in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );

  const ledger = new Ledger(store);
  started = performance.now();
  await ledger.list(scope, { subject: 'ftjob-0' });
  const buildMs = performance.now() - started;
  say(`index built on the first filtered read in ${(buildMs / 1000).toFixed(1)} s (once per tenant)`);

  const job = `ftjob-${Math.floor(ENTRIES / PER_JOB / 2)}`;
  const lastButTwo = (Math.floor(ENTRIES / PER_JOB / 2) + 1) * PER_JOB - 2;
  const fullRounds = Math.max(3, Math.floor(ROUNDS / 10));
  const everyEntry = () => ledger.list(scope);
  row(
    `a job's ${PER_JOB} entries (GET …/events, audit ?subject=)`,
    await timed(ROUNDS, () => ledger.list(scope, { subject: job })),
    await timed(fullRounds, async () => (await everyEntry()).filter((e) => e.subject === job)),
  );
  row(
    'the stream: the 2 entries after the last sent',
    await timed(ROUNDS, () => ledger.list(scope, { subject: job, after: lastButTwo })),
    await timed(fullRounds, async () => (await everyEntry()).filter((e) => e.subject === job && e.seq > lastButTwo)),
  );
  row(
    `one action's ${ENTRIES / PER_JOB} entries (audit ?action=)`,
    await timed(ROUNDS, () => ledger.list(scope, { action: 'model.deployed' })),
    await timed(fullRounds, async () => (await everyEntry()).filter((e) => e.action === 'model.deployed')),
  );
  // GET /v1/models for acme: one listing of its prefix, each version's record once; before, every tenant's models
  // listed, then per version its versions listed again, its production alias and its record with metrics read.
  const previousModels = async () => {
    const names = [...(await registry.listModels()).keys()].filter((name) => name.startsWith('acme--'));
    await mapLimited(names, 8, async (name) => {
      for (const version of await registry.listVersions(name)) {
        await registry.listVersions(name);
        await registry.getAlias(name, 'production');
        await registry.getVersion(name, version);
      }
    });
  };
  row(
    `GET /v1/models: a tenant's ${MODELS} models (beside another ${MODELS})`,
    await timed(fullRounds, async () => {
      const models = await registry.listModels('acme--');
      await mapLimited([...models], 8, ([name, versions]) => registry.getRecord(name, versions[0]));
    }),
    await timed(fullRounds, previousModels),
  );
  console.log(`\n${ENTRIES} ledger entries (${PER_JOB} per job), ${MODELS} models per tenant, 2 tenants; ms:\n`);
  console.log('| read | p50 | p99 | before p50 | before p99 | faster |');
  console.log('|---|---|---|---|---|---|');
  for (const line of rows) console.log(line);
  console.log(`\nindex built once per tenant on the first filtered read: ${(buildMs / 1000).toFixed(1)} s`);
} finally {
  await local.stop();
}
