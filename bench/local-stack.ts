// A bench's own servers on loopback (infra/local-servers.ts) in a temp dir, a client for the S3 server and the
// bucket `ratchet` in it.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalServers } from '../infra/local-servers.ts';
import { ensureAll } from '../infra/provision.ts';
import { createS3Client, ensureBucket } from '../infra/s3-client.ts';

export async function startLocalStack(name: string, say: (line: string) => void) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ratchet-${name}-`));
  const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench-secret' };
  const servers = await startLocalServers({ binaries: await ensureAll(say), dir, namespace: 'default', credentials });
  const s3 = createS3Client({ endpoint: servers.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials });
  await ensureBucket(s3, 'ratchet');
  return {
    temporalAddress: servers.temporal.address,
    temporalHttpPort: servers.temporal.httpPort,
    s3Endpoint: servers.s3Endpoint,
    credentials,
    s3,
    bucket: 'ratchet',
    async stop() {
      s3.destroy();
      await servers.s3.stop();
      for (const server of servers.temporal.processes.reverse()) await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
