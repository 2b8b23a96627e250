// The real pretrained transformer through the whole pipeline, sized for CI: all-MiniLM-L6-v2 from its PyPI wheel is
// imported with `ratchet models import` (83 MB, so by a presigned upload), then a job fine-tunes it with LoRA on real
// emails (SpamAssassin, ham against spam, texts cut at 32 tokens, 40 steps), distils it into a fastText student,
// evaluates it, waits for a second identity's sign-off and deploys. The figures asserted are the ones that matter:
// the teacher and the deployed student both classify held-out emails well above chance.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scoped } from '../../api/tenancy.ts';
import { spamAssassin, textJsonl, type TextRecord } from '../../infra/demo/spam-assassin.ts';
import { PINNED_WHEELS } from '../../engine/models/pretrained.ts';
import { MINILM_WHEEL, minilmWheel } from '../helpers/minilm.ts';
import { call, keyFor, upload } from './api-harness.ts';
import { untilStatus, useIrisStack } from './iris-job.ts';
import { registry } from './job-harness.ts';

const stack = useIrisStack('minilm');
const pinned = PINNED_WHEELS[MINILM_WHEEL];
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function ratchet(key: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, RATCHET_API_URL: stack.api.url, RATCHET_API_KEY: key };
  return new Promise((resolve) =>
    execFile(process.execPath, ['bin/ratchet.mjs', ...args], { cwd: repoRoot, env }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    ),
  );
}

/** 120 emails of each class spread over the group, the start of each; one in four held out for evaluation. */
function emails(evalRows: boolean): string {
  const spread = (records: TextRecord[]) =>
    records
      .filter((_, i) => i % Math.floor(records.length / 120) === 0)
      .slice(0, 120)
      .map((r) => ({ text: r.text.slice(0, 400), label: r.label }));
  const rows = [...spread(spamAssassin(['easy-ham-1'])), ...spread(spamAssassin(['spam-1']))];
  return textJsonl(rows.filter((_, i) => (i % 4 === 3) === evalRows));
}

describe('all-MiniLM-L6-v2 in the pipeline', () => {
  it('imports the wheel, fine-tunes it with LoRA on real emails, distils, signs off and deploys', async () => {
    const wheel = await minilmWheel(process.env.RATCHET_PYTHON ?? 'python3');
    // Presigned uploads need the submitter role, imports the approver role; the pinned wheel's licence is known.
    const importer = await keyFor(stack.api, stack.tenant, 'ada', ['submitter', 'approver']);
    const imported = await ratchet(
      importer,
      ...['models', 'import', '--name', 'minilm', '--from', wheel],
      ...['--max-length', '32', '--sha256', pinned.wheel, '--json'],
    );
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ version: 1, licence: 'Apache-2.0' });

    const file = async (text: string) => (await upload(stack.api, stack.keys.submitter, text)).body.id as string;
    const created = await call(stack.api, 'POST', '/v1/fine_tuning/jobs', {
      key: stack.keys.submitter,
      json: {
        model: 'minilm',
        training_file: await file(emails(false)),
        validation_file: await file(emails(true)),
        training: {
          method: 'lora:4',
          config: { batchSize: 8, maxSteps: 40, lr: 0.003, seed: 1, threads: 2, checkpointEvery: 20 },
        },
        distillation: { student: { fasttext: { buckets: 4096, dim: 16 } }, config: { epochs: 8, lr: 0.1 } },
        // Emails carry addresses; the corpus is public, so its PII findings are reviewed rather than blocking.
        policy: { minAccuracy: 0.85, allowedLicences: ['CC-BY-4.0'], blockOnPii: false, approvalTimeout: '10m' },
        intended_use: 'ham against spam in emails (test fixture from the SpamAssassin corpus)',
      },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id as string;
    const waiting = (await untilStatus(stack, id, ['awaiting_approval'], 300_000)).body.ratchet;
    expect(waiting.transitions.map((t: { state: string }) => t.state)).toEqual([
      'validating',
      'training',
      'distilling',
      'evaluating',
      'gating',
      'awaiting_approval',
    ]);
    // Chance is 0.5 on these balanced classes; the LoRA-tuned MiniLM and its student both do far better.
    expect(waiting.distillation.teacher.accuracy).toBeGreaterThanOrEqual(0.85);
    expect(waiting.evaluation.candidate.metrics.accuracy).toBeGreaterThanOrEqual(0.85);

    const approved = await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: stack.keys.approver,
      json: { reason: 'MiniLM teacher, fastText student above the bar' },
    });
    expect(approved.status, approved.text).toBeLessThan(300);
    const deployed = (await untilStatus(stack, id, ['deployed'])).body;
    expect(deployed.fine_tuned_model).toBe('minilm:2');

    // The deployed student's lineage names the imported MiniLM with its pinned source sha256s and licence.
    const name = scoped(stack.tenant, 'minilm');
    const v2 = await registry().getVersion(name, 2);
    expect(v2.record.hyperparameters!.teacher).toMatchObject({
      arch: 'base',
      method: 'lora:4',
      base_model: {
        name,
        version: 1,
        licence: 'Apache-2.0',
        source_sha256: { wheel: pinned.wheel, safetensors: pinned.safetensors },
      },
    });
    expect((await registry().getCard(name, 2)).markdown).toContain(pinned.safetensors);
  }, 600_000);
});
