// `ratchet demo --quick --auto-approve` as a user runs it: its own stack (data dir and ports of its own), the
// SpamAssassin corpus, v1, a job on period-2 data approved by a second identity, deployed, before/after printed.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../../infra/ports.ts';
import { ownStackEnv } from '../helpers/dev-stack.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ratchet-demo-test-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

it('runs the story to a deployed v2 that beats v1 on held-out period 2', { timeout: 300_000 }, async () => {
  const apiPort = await freePort();
  // The API's port is picked here: the demo needs to know it.
  const env = { ...ownStackEnv(dataDir), RATCHET_API_PORT: String(apiPort), RATCHET_BOOTSTRAP_ADMIN_KEY: '' };
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) =>
    execFile(
      process.execPath,
      ['bin/ratchet.mjs', 'demo', '--quick', '--auto-approve'],
      { cwd: repoRoot, env, timeout: 280_000 },
      (error, out, err) => resolve({ code: error ? Number(error.code) : 0, stdout: out + err }),
    ),
  );
  expect(code, stdout).toBe(0);
  const jobId = /demo: job (default--job-[0-9a-f]{24})/.exec(stdout)?.[1];
  expect(jobId, stdout).toBeDefined();
  expect(stdout).toContain(`http://127.0.0.1:${apiPort}/console/jobs/${jobId}`);
  expect(stdout).toContain(`npx ratchet approve ${jobId} --reason`);
  expect(stdout).toContain('demo: deployed: submitted by demo-submitter, approved by demo-approver');

  // The table: on the same held-out file, v2 (period 1 + the period-2 sample) beats v1 (period 1 only).
  const row = /^accuracy\s+([\d.]+) %\s+([\d.]+) %$/m.exec(stdout);
  expect(stdout).toMatch(/^held-out period 2\s+before \(v1\)\s+after \(v2\)$/m);
  expect(Number(row![2])).toBeGreaterThan(Number(row![1]));
  // Beside it, what the aggregates hide: predictions changed (fixed outnumbering broken, as v2 is better) and the
  // accuracy difference with its interval, which agrees with the table's two figures.
  const churn = /^churn: (\d+) of (\d+) predictions changed \((\d+) fixed, (\d+) broken\)$/m.exec(stdout);
  expect(churn, stdout).not.toBeNull();
  const [changed, rows, fixed, broken] = churn!.slice(1).map(Number);
  expect(fixed + broken).toBeLessThanOrEqual(changed);
  expect(changed).toBeLessThanOrEqual(rows);
  expect(fixed).toBeGreaterThan(broken);
  const diff =
    /^accuracy difference: ([+-][\d.]+) points, 95 % interval \[([+-][\d.]+), ([+-][\d.]+)\]; McNemar p = /m.exec(
      stdout,
    );
  expect(diff, stdout).not.toBeNull();
  const [estimate, low, high] = diff!.slice(1).map(Number);
  expect(estimate).toBeCloseTo(Number(row![2]) - Number(row![1]), 0);
  expect(low).toBeLessThanOrEqual(estimate);
  expect(high).toBeGreaterThanOrEqual(estimate);
  // And why v2 differs: the mail it adds to v1's (the period-2 sample) is told apart from v1's training mail.
  const drift =
    /^training data drift from v1's: feature \d+ moved most \(PSI [\d.]+\); a classifier tells production's rows from the new ones with held-out AUC ([\d.]+) \(p = ([\d.e+-]+)\)$/m.exec(
      stdout,
    );
  expect(drift, stdout).not.toBeNull();
  expect(Number(drift![1])).toBeGreaterThan(0.5);

  // The approver key the demo printed the command with is a different identity from the job's submitter.
  const approverKey = fs.readFileSync(path.join(dataDir, 'demo', 'approver.key'), 'utf8').trim();
  expect(approverKey).not.toBe(fs.readFileSync(path.join(dataDir, 'demo', 'admin.key'), 'utf8').trim());
  expect(fs.statSync(path.join(dataDir, 'demo', 'approver.key')).mode & 0o077).toBe(0);
});
