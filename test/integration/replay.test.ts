// Recorded histories of real fineTuneJob runs (test/fixtures/histories, written by the job, crash, schedule, OOD,
// distill-job, base-model, drift-job and mislabels-drop-job tests with RATCHET_RECORD_HISTORIES=1) replayed against
// the current workflow code: a change that would make a running job take a different path on replay fails here,
// before it reaches a cluster with jobs in flight.
import { readdirSync, readFileSync } from 'node:fs';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../infra/worker.ts';

// A CommonJS package: Node's ESM loader sees only its default export.
const { temporal } = proto;

const dir = new URL('../fixtures/histories/', import.meta.url);
const names = readdirSync(dir).filter((name) => name.endsWith('.json'));

describe('recorded job histories', () => {
  it('cover every way a job ends', () => {
    const recorded = names.map((name) => name.replace(/\.json$/, '')).sort();
    expect(recorded).toEqual(
      expect.arrayContaining([
        // A deployed job whose ledger appends ran beside its stages (the 'ledger-appends-in-background' patch),
        // recorded by bench/job-overhead-live.ts.
        'appends-in-background',
        'base-model',
        'cancelled',
        'crash-resumed',
        'dataset-rejected',
        // A worker killed mid-distillation; the retried attempt resumed the student from its checkpoint.
        'distill-crash-resumed',
        'distilled',
        // Recorded before the distillation activity's type became 'distill': the 'distill-activity' patch's old path.
        'distilled-as-distil',
        // A second job compared with production: drift, churn and the interval in its model.evaluated entry.
        'drift-compared',
        'expired',
        'gate-failed',
        'happy-path',
        // policy.mislabels 'drop': the job trained on the validator's cleaned training file.
        'mislabels-dropped',
        'ood-gate-failed',
        'rejected',
        'scheduled',
        'shutdown-resumed',
        // Recorded once the job published its status in its memo (the 'status-memo' patch, with
        // 'ledger-appends-in-background'): approved and deployed, and cancelled in training.
        'status-published',
        'status-published-cancelled',
      ]),
    );
  });

  // Recorded with tracing off; a worker with it on (infra/tracing.ts bundles OpenTelemetry's workflow interceptors)
  // must take the same path through them, or turning tracing on would break jobs in flight.
  it.each([
    ['without', false],
    ['with', true],
  ])('replay against the current workflow code %s tracing', { timeout: 120_000 }, async (_, tracing) => {
    const histories = names.map((name) => ({
      workflowId: name,
      history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(new URL(name, dir), 'utf8'))),
    }));
    const failures: string[] = [];
    const workflowBundle = await bundleWorkflows({ tracing });
    // The workflow interceptors hand their spans to this sink; the SDK must not call it while replaying.
    const exported: unknown[] = [];
    const sinks = { exporter: { export: { fn: (_: unknown, spans: unknown[]) => void exported.push(...spans) } } };
    for await (const result of Worker.runReplayHistories({ workflowBundle, sinks }, histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(exported).toEqual([]);
  });
});
