// `ratchet reproduce` end to end: an Iris job deployed through the real API and worker, then reproduced on the
// worker from its lineage (same bytes, exit 0), then again after the training file's bytes were replaced in S3
// (exit 1, the report names `train`).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ObjectStore, objectKey } from '../../core/object-store.ts';
import { Registry } from '../../core/registry/registry.ts';
import { scoped } from '../../api/tenancy.ts';
import { s3Client, stack as testStack } from '../helpers/stack.ts';
import { call } from './api-harness.ts';
import { jobAwaitingApproval, untilStatus, useIrisStack } from './iris-job.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const stack = useIrisStack('reproduce');

type Run = { code: number; stdout: string; stderr: string };

function ratchet(key: string, ...args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, RATCHET_API_URL: stack.api.url, RATCHET_API_KEY: key };
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/ratchet.mjs', ...args], { cwd: repoRoot, env }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, stdout, stderr }),
    );
  });
}

describe('ratchet reproduce', () => {
  it('rebuilds a deployed version byte for byte, and names the training file once its bytes changed', async () => {
    const id = await jobAwaitingApproval(stack, 'iris-repro');
    await call(stack.api, 'POST', `/v1/fine_tuning/jobs/${id}/approve`, {
      key: stack.keys.approver,
      json: { reason: 'to reproduce' },
    });
    const version = (await untilStatus(stack, id, ['deployed'])).body.ratchet.deployed.version as number;
    const store = new ObjectStore(s3Client(), testStack().bucket);
    const { record } = await new Registry(store).getVersion(scoped(stack.tenant, 'iris-repro'), version);
    const trainKey = objectKey('tenants', stack.tenant, 'files', stack.files.train, 'content');
    // The lineage keeps where the data was read from, and the code's commit.
    expect(record).toMatchObject({ dataset_keys: { train: trainKey }, code_version: expect.stringMatching(/\+|\d/) });

    // A submitter may not start one; an approver may.
    const refused = await ratchet(stack.keys.submitter, 'reproduce', `iris-repro@${version}`);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/403/) });
    const same = await ratchet(stack.keys.approver, 'reproduce', `iris-repro@${version}`, '--json');
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    const first = JSON.parse(same.stdout);
    expect(first).toMatchObject({
      status: 'succeeded',
      model: 'iris-repro',
      version,
      report: {
        reproduced: true,
        model_sha256: { recorded: record.artifacts['model.onnx'], rebuilt: record.artifacts['model.onnx'] },
        code: { same: true },
      },
    });
    expect(first.report.inputs.map((i: { name: string; ok: boolean }) => [i.name, i.ok])).toEqual([
      ['train', true],
      ['eval', true],
    ]);

    // The data changed under the file id: its last row dropped, in place.
    const lines = Buffer.from((await store.get(trainKey)).bytes)
      .toString()
      .trimEnd()
      .split('\n');
    await store.put(trainKey, `${lines.slice(0, -1).join('\n')}\n`);
    const changed = await ratchet(stack.keys.approver, 'reproduce', `iris-repro@${version}`);
    expect(changed.code).toBe(1);
    expect(changed.stdout).toMatch(/NOT reproduced: inputs differ from the lineage: train$/m);
    expect(changed.stdout).toMatch(/^DIFFERS train /m);
    expect(changed.stdout).toMatch(/^same {4}eval /m);
  });
});
