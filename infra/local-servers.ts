// The Temporal dev server and the S3 server on free loopback ports under `dir`, each started again on new ports when
// another process takes a picked one first (ports.ts): what the test harness and the benches run.
import path from 'node:path';
import type { S3Credentials } from './config.ts';
import { freePort, onFreePorts } from './ports.ts';
import type { Binaries } from './provision.ts';
import { startS3Server } from './s3-server.ts';
import { startTemporalDevServer } from './temporal-server.ts';

export async function startLocalServers(options: {
  binaries: Binaries;
  dir: string;
  namespace: string;
  credentials: S3Credentials;
}) {
  const { binaries, dir, namespace, credentials } = options;
  const { ports, started: temporal } = await onFreePorts(
    async () => ({ grpc: await freePort(), http: await freePort() }),
    (ports) => startTemporalDevServer({ binary: binaries.temporal, dir: path.join(dir, 'temporal'), namespace, ports }),
  );
  try {
    const { ports: s3Port, started: s3 } = await onFreePorts(freePort, (port) =>
      startS3Server({ binary: binaries.versitygw, dir: path.join(dir, 's3'), port, credentials }),
    );
    return { temporal, temporalPorts: ports, s3, s3Endpoint: `http://127.0.0.1:${s3Port}` };
  } catch (error) {
    await temporal.stop();
    throw error;
  }
}
