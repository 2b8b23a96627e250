// One tenant's ledger appended to by several processes at once: the child's side (run as a script, see
// `raceChild`) and the parent's (`runLedgerRace`), shared by test/integration/ledger-race.test.ts and
// bench/ledger-race.ts. A child appends N entries, all in flight at once, either through the tenant's ledger
// writer workflow (`writer`, what the product does) or straight to S3 with `Ledger.append` (`direct`, the
// mechanism before the writer: safe within one process only).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { appendThroughWriter } from '../../activities/ledger.ts';
import type { AppendInput, LedgerEntry } from '../../core/ledger/entry.ts';
import { Ledger } from '../../core/ledger/ledger.ts';
import type { VerifyReport } from '../../core/ledger/chain.ts';
import { ObjectStore } from '../../core/object-store.ts';
import { LEDGER_QUEUE } from '../../core/ledger/writer.ts';
import { createS3Client } from '../../infra/s3-client.ts';
import type { StackInfo } from './stack.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const self = fileURLToPath(import.meta.url);

export type RaceMode = 'writer' | 'direct';

export type RaceOptions = {
  stack: StackInfo;
  scope: string;
  processes: number;
  perProcess: number;
  mode: RaceMode;
  /** The writers' task queue; default `ledger`. */
  taskQueue?: string;
};

export type RaceResult = {
  report: VerifyReport;
  /** Entries whose `details` name a writer and an index: each (writer, index) should appear exactly once. */
  found: number;
  /** (writer, index) pairs absent from the ledger, e.g. `3/7`. */
  lost: string[];
  /** (writer, index) pairs present more than once. */
  doubled: string[];
  /** A child that failed, with its output. */
  failures: string[];
  wallMs: number;
};

const entryOf = (writer: number, index: number): AppendInput => ({
  ts: new Date().toISOString(),
  actor: `race-writer-${writer}`,
  action: 'race.appended',
  subject: `entry-${writer}-${index}`,
  details: { writer, index },
});

function storeOf(stack: StackInfo): ObjectStore {
  const { s3Endpoint, region, accessKeyId, secretAccessKey, bucket } = stack;
  const s3 = createS3Client({
    endpoint: s3Endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  return new ObjectStore(s3, bucket);
}

/** Spawns the children, lets them start together, and checks the ledger they leave. */
export async function runLedgerRace(options: RaceOptions): Promise<RaceResult> {
  const { stack, scope, processes, perProcess, mode, taskQueue = LEDGER_QUEUE } = options;
  const started = Date.now();
  // Every child waits for this instant after connecting, so the appends overlap rather than the start-ups.
  const startAt = Date.now() + 3_000 + processes * 300;
  const children = Array.from({ length: processes }, (_, writer) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self], {
      cwd: root,
      env: {
        ...process.env,
        RACE: JSON.stringify({ stack, scope, writer, perProcess, mode, taskQueue, startAt }),
      },
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    return new Promise<string | undefined>((resolve) =>
      child.once('exit', (code, signal) =>
        resolve(code === 0 ? undefined : `writer ${writer}: ${signal ?? `exit ${code}`}\n${output}`),
      ),
    );
  });
  const failures = (await Promise.all(children)).filter((f): f is string => f !== undefined);
  const wallMs = Date.now() - started;

  const ledger = new Ledger(storeOf(stack));
  const report = await ledger.verify(scope);
  const seen = new Map<string, number>();
  for (const entry of await ledger.list(scope)) {
    const { writer, index } = entry.details as { writer?: number; index?: number };
    if (writer === undefined || index === undefined) continue;
    seen.set(`${writer}/${index}`, (seen.get(`${writer}/${index}`) ?? 0) + 1);
  }
  const lost: string[] = [];
  for (let writer = 0; writer < processes; writer++) {
    for (let index = 0; index < perProcess; index++)
      if (!seen.has(`${writer}/${index}`)) lost.push(`${writer}/${index}`);
  }
  const doubled = [...seen].filter(([, n]) => n > 1).map(([pair]) => pair);
  return { report, found: [...seen.values()].reduce((a, b) => a + b, 0), lost, doubled, failures, wallMs };
}

/** Whether the race left one linear chain with every entry present once. */
export const raceHeld = (result: RaceResult, expected: number) =>
  result.failures.length === 0 &&
  result.report.ok &&
  result.report.entries === expected &&
  result.found === expected &&
  result.lost.length === 0 &&
  result.doubled.length === 0;

/** The child: appends its N entries at once when `startAt` comes, then exits 0 (1 on any failure). */
async function raceChild(spec: {
  stack: StackInfo;
  scope: string;
  writer: number;
  perProcess: number;
  mode: RaceMode;
  taskQueue: string;
  startAt: number;
}): Promise<void> {
  const { stack, scope, writer, perProcess, mode, taskQueue, startAt } = spec;
  let append: (entry: AppendInput) => Promise<LedgerEntry>;
  let close = async () => {};
  if (mode === 'writer') {
    const connection = await Connection.connect({ address: stack.temporalAddress });
    const client = new Client({ connection, namespace: stack.namespace });
    append = (entry) => appendThroughWriter(client, taskQueue, scope, entry);
    close = () => connection.close();
  } else {
    const ledger = new Ledger(storeOf(stack));
    append = (entry) => ledger.append(scope, entry);
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  await Promise.all(Array.from({ length: perProcess }, (_, index) => append(entryOf(writer, index))));
  await close();
}

if (process.argv[1] === self && process.env.RACE) {
  raceChild(JSON.parse(process.env.RACE)).then(
    () => process.exit(0),
    (error: Error) => {
      console.error(error.stack ?? error.message);
      process.exit(1);
    },
  );
}
