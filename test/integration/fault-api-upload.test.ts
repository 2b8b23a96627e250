// A `ratchet api` process SIGKILLed while it receives a large multipart upload (POST /v1/files), at three points:
// half-way through the body, just after its last byte, and once its bytes are in S3 (before the ledger entry and
// the record). Afterwards, read
// through a fresh `ratchet api` and straight from S3: either the file is whole (listed, its bytes and sha256 those
// sent, one `file.uploaded` entry) or there is no trace of it (not listed, no object under the tenant's files
// prefix, no ledger entry); the tenant's ledger verifies either way.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { stackEnv } from '../helpers/stack.ts';
import { BOOTSTRAP_ADMIN_KEY, call, freshTenant, keyFor, upload, type Api } from './api-harness.ts';
import { recordKey } from '../../api/routes/file-keys.ts';
import { ABANDONED_UPLOAD_MS, recoverUploads } from '../../api/routes/file-recovery.ts';
import { ledger, store } from './job-harness.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** `ratchet api` on the test stack's Temporal and S3, on a port it picks; resolves once it listens. */
async function startApiProcess(): Promise<Api & { child: ChildProcess; exited: Promise<unknown> }> {
  const env = {
    ...process.env,
    ...stackEnv(),
    RATCHET_API_PORT: '0',
    RATCHET_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP_ADMIN_KEY,
  };
  const child = spawn(process.execPath, ['bin/ratchet.mjs', 'api'], { cwd: repoRoot, env });
  children.push(child);
  const exited = once(child, 'exit');
  let output = '';
  child.stderr!.on('data', (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const found = /api: listening on (http:\/\/\S+?);/.exec(output);
      if (found) resolve(found[1]);
    });
    void exited.then(() => reject(new Error(`ratchet api exited:\n${output}`)));
  });
  return { url, admin: BOOTSTRAP_ADMIN_KEY, child, exited } as Api & { child: ChildProcess; exited: Promise<unknown> };
}

const BOUNDARY = 'ratchet-fault-boundary-7d1f';
/** A multipart body of a 30 MiB file (under the 32 MiB limit), as an SDK sends it. */
function multipartBody(): { body: Buffer; file: Buffer } {
  const line = Buffer.from('{"features":[5.1,3.5,1.4,0.2],"label":"setosa"}\n');
  const file = Buffer.concat(Array.from({ length: Math.floor((30 * 1024 * 1024) / line.length) }, () => line));
  const field = (name: string, value: string) =>
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const head =
    field('purpose', 'fine-tune') +
    field('licence', 'CC-BY-4.0') +
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n` +
    'Content-Type: application/jsonl\r\n\r\n';
  return { body: Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${BOUNDARY}--\r\n`)]), file };
}

/**
 * Sends the upload over a raw socket, so the test knows how much of it the API has taken: `sent` bytes of the body
 * written (and flushed to the kernel), then `afterSend` runs. The socket is left for the kill to close.
 */
async function uploadUntil(api: Api, key: string, body: Buffer, sent: number, afterSend: () => void) {
  const port = Number(new URL(api.url).port);
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {}); // the kill resets it
  await once(socket, 'connect');
  const head =
    `POST /v1/files HTTP/1.1\r\nHost: ratchet\r\nAuthorization: Bearer ${key}\r\n` +
    `Content-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${body.length}\r\n\r\n`;
  socket.write(head);
  await new Promise<void>((resolve) => socket.write(body.subarray(0, sent), () => resolve()));
  afterSend();
  return socket;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ratchet api killed mid-upload', () => {
  for (const point of ['half-way through the body', 'just after the last byte', 'while it stores the bytes'] as const) {
    it(`${point}: the file is whole or leaves no trace`, { timeout: 60_000 }, async () => {
      const api = await startApiProcess();
      const tenant = freshTenant('fault-upload');
      const key = await keyFor(api, tenant, 'sam', ['submitter', 'viewer']);
      const { body, file } = multipartBody();
      const sent = point === 'half-way through the body' ? Math.floor(body.length / 2) : body.length;
      const killedAt = Date.now();
      const socket = await uploadUntil(api, key, body, sent, () => {
        if (point !== 'while it stores the bytes') api.child.kill('SIGKILL');
      });
      if (point === 'while it stores the bytes') {
        // The first object the upload writes under the tenant's files prefix is the moment to kill it.
        while ((await store().list(`tenants/${tenant}/files/`)).length === 0) await sleep(5);
        api.child.kill('SIGKILL');
      }
      await api.exited;
      socket.destroy();
      console.log(`fault-upload: killed ${point} (${sent} of ${body.length} bytes) ${Date.now() - killedAt} ms in`);

      // A fresh process, as an operator's restart (or another replica) gives. An append the killed process had
      // handed to the tenant's ledger writer lands all the same (Temporal holds it), within the process's start-up.
      const again = await startApiProcess();
      const entries = await call(again, 'GET', '/v1/audit/entries?limit=100', { key });
      expect(entries.status).toBe(200);
      const listed = await call(again, 'GET', '/v1/files', { key });
      expect(listed.status).toBe(200);
      const uploaded = entries.body.data.filter((e: { action: string }) => e.action === 'file.uploaded');
      let objects = await store().list(`tenants/${tenant}/files/`);
      console.log(
        `fault-upload: after the kill: ${listed.body.data.length} file(s) listed, ${objects.length} object(s) under the files prefix, ${uploaded.length} file.uploaded entr(ies)`,
      );
      if (listed.body.data.length === 0 && objects.length > 0) {
        // Bytes the killed process stored, with no entry: not listed, and deleted by the first listing once they
        // are older than any upload still being stored could be (here, as a listing that much later does).
        const later = Date.now() + ABANDONED_UPLOAD_MS + 1;
        expect(await recoverUploads({ store: store(), ledger: ledger() }, tenant, objects, later)).toEqual([]);
        objects = await store().list(`tenants/${tenant}/files/`);
      }
      if (listed.body.data.length === 0) {
        // No trace: nothing half-written under the files prefix, nothing in the ledger.
        expect(objects).toEqual([]);
        expect(uploaded).toEqual([]);
      } else {
        // Whole: the bytes sent, recorded once.
        expect(point).not.toBe('half-way through the body');
        const [listedFile] = listed.body.data;
        const sha256 = createHash('sha256').update(file).digest('hex');
        expect(listedFile).toMatchObject({ bytes: file.length, sha256, status: 'processed' });
        expect(uploaded.map((e: { subject: string }) => e.subject)).toEqual([listedFile.id]);
        const content = await fetch(`${again.url}/v1/files/${listedFile.id}/content`, {
          headers: { authorization: `Bearer ${key}` },
        });
        expect(
          createHash('sha256')
            .update(Buffer.from(await content.arrayBuffer()))
            .digest('hex'),
        ).toBe(sha256);
      }
      const verified = await call(again, 'GET', '/v1/audit/verify', { key });
      expect(verified.body).toMatchObject({ ok: true, problems: [] });
    });
  }

  it('killed between the ledger entry and the record: the next listing restores the file from the entry', async () => {
    // The state such a kill leaves, made exactly: a whole upload whose record object is then removed.
    const api = await startApiProcess();
    const tenant = freshTenant('fault-upload');
    const key = await keyFor(api, tenant, 'sam', ['submitter', 'viewer']);
    const stored = await upload(api, key, '{"features":[1,2,3,4],"label":"a"}\n');
    expect(stored.status).toBe(200);
    await store().delete(recordKey(tenant, stored.body.id));

    const listed = await call(api, 'GET', '/v1/files', { key });
    expect(listed.body.data).toEqual([stored.body]);
    expect((await call(api, 'GET', `/v1/files/${stored.body.id}`, { key })).body).toEqual(stored.body);
  });
});
