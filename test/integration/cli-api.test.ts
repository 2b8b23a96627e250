// The API commands as a user runs them: `node bin/ratchet.mjs ...` in a child process against the real API
// (RATCHET_API_URL, RATCHET_API_KEY), with a real job from create to deploy.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { irisJobBody, useIrisStack } from './iris-job.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const stack = useIrisStack('cli-api');

type Run = { code: number; stdout: string; stderr: string };

function ratchet(key: string | undefined, ...args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, RATCHET_API_URL: stack.api.url };
  if (key === undefined) delete env.RATCHET_API_KEY;
  else env.RATCHET_API_KEY = key;
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/ratchet.mjs', ...args], { cwd: repoRoot, env }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

describe('ratchet API commands', () => {
  it('say what is missing or wrong in one line, with a non-zero exit', async () => {
    const noKey = await ratchet(undefined, 'jobs', 'list');
    expect(noKey).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^ratchet jobs: RATCHET_API_KEY is not set/),
    });
    const badKey = await ratchet('not-a-key', 'jobs', 'list');
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toMatch(/^ratchet jobs: 401 /);
    const unknown = await ratchet(stack.keys.viewer, 'jobs', 'get', `${stack.tenant}--job-000000000000000000000000`);
    expect(unknown.stderr).toMatch(/^ratchet jobs: 404 Not Found: no job /);
    const noReason = await ratchet(stack.keys.approver, 'approve', 'some-job');
    expect(noReason).toMatchObject({ code: 1, stderr: expect.stringMatching(/give --reason TEXT/) });
  });

  it('keys: an admin creates a key that then works; a submitter may not', async () => {
    const created = await ratchet(stack.keys.admin, 'keys', 'create', 'val', '--roles', 'viewer', '--json');
    expect(created.code).toBe(0);
    const { key, info } = JSON.parse(created.stdout);
    expect(info).toMatchObject({ user: 'val', roles: ['viewer'], tenant: stack.tenant });
    expect((await ratchet(key, 'jobs', 'list')).code).toBe(0);
    expect((await ratchet(stack.keys.admin, 'keys', 'list')).stdout).toContain(info.id);
    const refused = await ratchet(stack.keys.submitter, 'keys', 'list');
    expect(refused).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/403 Forbidden: this route needs the admin role/),
    });
  });

  it('a job from create to deploy: watch, list, separation of duties, approve, models, audit verify', async () => {
    const body = path.join(mkdtempSync(path.join(tmpdir(), 'ratchet-cli-')), 'job.json');
    writeFileSync(body, JSON.stringify(irisJobBody(stack, 'iris-cli')));
    const created = await ratchet(stack.keys.submitter, 'jobs', 'create', '--body', body, '--json');
    expect(created.code).toBe(0);
    const { id } = JSON.parse(created.stdout);

    const watched = await ratchet(stack.keys.viewer, 'jobs', 'watch', id);
    expect(watched.code).toBe(0);
    const stages = watched.stdout.split('\n').filter((line) => line.startsWith('stage: '));
    // Every stage, however short: iris trains in well under the 500 ms poll interval on a fast machine.
    expect(stages).toEqual(
      ['validating', 'training', 'evaluating', 'gating', 'awaiting_approval'].map((s) => `stage: ${s}`),
    );

    const listed = JSON.parse(
      (await ratchet(stack.keys.viewer, 'jobs', 'list', '--status', 'awaiting_approval', '--json')).stdout,
    );
    expect(listed.data.map((j: { id: string }) => j.id)).toContain(id);

    const own = await ratchet(stack.keys.samApproving, 'approve', id, '--reason', 'mine');
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/403 Forbidden: sam submitted this job and cannot approve it/);

    const approved = await ratchet(stack.keys.approver, 'approve', id, '--reason', 'meets the policy');
    expect(approved).toMatchObject({ code: 0, stdout: expect.stringContaining(`${id}: approved by ada`) });
    expect((await ratchet(stack.keys.viewer, 'jobs', 'watch', id)).stdout).toMatch(/status: deployed|stage: deploying/);

    const got = JSON.parse((await ratchet(stack.keys.viewer, 'jobs', 'get', id, '--json')).stdout);
    const version = got.ratchet.deployed.version;
    expect(got).toMatchObject({
      status: 'succeeded',
      fine_tuned_model: `iris-cli:${version}`,
      ratchet: { status: 'deployed', decision: { action: 'approve', by: 'ada', reason: 'meets the policy' } },
    });
    const models = JSON.parse((await ratchet(stack.keys.viewer, 'models', '--json')).stdout);
    expect(models.data).toContainEqual(
      expect.objectContaining({ id: `iris-cli:${version}`, object: 'model', owned_by: stack.tenant }),
    );
    const table = (await ratchet(stack.keys.viewer, 'models')).stdout;
    expect(table).toMatch(new RegExp(`^iris-cli:${version}\\s+${stack.tenant}\\s+\\S+\\s+production$`, 'm'));

    const versions = await ratchet(stack.keys.viewer, 'models', 'versions', 'iris-cli');
    expect(versions.stdout).toMatch(new RegExp(`^v${version}\\s+\\S+\\s+sam\\s+${id}$`, 'm'));
    const card = await ratchet(stack.keys.viewer, 'models', 'card', 'iris-cli', String(version));
    expect(card.stdout).toMatch(/^# Model card: .*iris-cli version \d+/);
    expect(card.stdout).toContain('Approver: ada');

    const verified = await ratchet(stack.keys.viewer, 'audit', 'verify');
    expect(verified).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^ledger verified: \d+ entries, chain intact/),
    });
  });
});
