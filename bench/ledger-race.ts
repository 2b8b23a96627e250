// The ledger race, repeated: P processes append N entries each to one fresh tenant's ledger at once, R times, on a
// stack of its own (Temporal dev server, Versity Gateway, a `ledger` worker in this process). Once through the
// tenants' ledger writer workflows (what the product does) and once straight to S3 with `Ledger.append` (the
// mechanism before them, safe within one process only), counting the races that left one linear chain with every
// entry present once. Run: node --import tsx bench/ledger-race.ts [runs=20] [processes=8] [perProcess=10]
import { randomUUID } from 'node:crypto';
import { DefaultLogger, NativeConnection, Runtime, makeTelemetryFilterString } from '@temporalio/worker';
import { createWorkers } from '../infra/worker.ts';
import { raceHeld, runLedgerRace, type RaceMode } from '../test/helpers/ledger-race.ts';
import type { StackInfo } from '../test/helpers/stack.ts';
import { startLocalStack } from './local-stack.ts';

const [runs, processes, perProcess] = process.argv.slice(2).map(Number);
const R = runs || 20;
const P = processes || 8;
const N = perProcess || 10;
const say = (line: string) => console.error(`bench: ${line}`);

Runtime.install({
  shutdownSignals: [],
  logger: new DefaultLogger('WARN'),
  telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
});
const local = await startLocalStack('ledger-race', say);
const { s3 } = local;
const stack: StackInfo = {
  temporalAddress: local.temporalAddress,
  temporalHttpPort: local.temporalHttpPort,
  namespace: 'default',
  s3Endpoint: local.s3Endpoint,
  bucket: local.bucket,
  ...local.credentials,
  region: 'us-east-1',
};
const connection = await NativeConnection.connect({ address: stack.temporalAddress });
const [worker] = await createWorkers({
  connection,
  namespace: 'default',
  taskQueues: ['ledger'],
  s3,
  bucket: 'ratchet',
});
const running = worker.run();

const lines: string[] = [];
try {
  for (const mode of ['writer', 'direct'] as RaceMode[]) {
    let passes = 0;
    const walls: number[] = [];
    for (let run = 1; run <= R; run++) {
      const result = await runLedgerRace({
        stack,
        scope: `race-${randomUUID().slice(0, 8)}`,
        processes: P,
        perProcess: N,
        mode,
      });
      const held = raceHeld(result, P * N);
      if (held) passes++;
      walls.push(result.wallMs);
      const kinds = [...new Set(result.report.problems.map((p) => p.problem))].join(', ');
      say(
        `${mode} run ${run}/${R}: ${held ? 'one chain, all entries' : 'FORKED or LOST'} ` +
          `(${result.report.entries} entries, ${result.lost.length} lost, ${result.failures.length} failed writers` +
          `${kinds ? `, verify: ${kinds}` : ''}; ${(result.wallMs / 1000).toFixed(1)} s)`,
      );
    }
    walls.sort((a, b) => a - b);
    lines.push(
      `${mode.padEnd(6)} ${passes}/${R} races held (${P} processes x ${N} appends; median wall ` +
        `${(walls[Math.floor(walls.length / 2)] / 1000).toFixed(1)} s incl. ~${((3000 + P * 300) / 1000).toFixed(1)} s start-up gate)`,
    );
  }
} finally {
  worker.shutdown();
  await running;
  await connection.close();
  await local.stop();
}
console.log(lines.join('\n'));
