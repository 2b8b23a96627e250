// Temporal (the dev server, or with `cluster` binaries the PostgreSQL-backed cluster of infra/cluster/) and the S3
// server on free loopback ports under `dir`, each started again on new ports when another process takes a picked
// one first (ports.ts): what the test harness and the benches run.
import path from 'node:path';
import { startTemporalClusterStack } from './cluster/start.ts';
import type { S3Credentials } from './config.ts';
import { freePort, onFreePorts } from './ports.ts';
import type { ManagedProcess } from './process.ts';
import type { Binaries, ClusterBinaries } from './provision.ts';
import { startS3Server } from './s3-server.ts';
import { startTemporalDevServer } from './temporal-server.ts';

type LocalTemporal = { address: string; httpPort: number; processes: ManagedProcess[] };

async function startDevServer(binary: string, dir: string, namespace: string): Promise<LocalTemporal> {
  const { ports, started } = await onFreePorts(
    async () => ({ grpc: await freePort(), http: await freePort() }),
    (ports) => startTemporalDevServer({ binary, dir, namespace, ports }),
  );
  return { address: `127.0.0.1:${ports.grpc}`, httpPort: ports.http, processes: [started] };
}

async function startCluster(
  binaries: ClusterBinaries,
  dir: string,
  namespace: string,
  say: (line: string) => void,
): Promise<LocalTemporal> {
  const { address, httpPort, servers } = await startTemporalClusterStack({ binaries, dir, namespace, say });
  return { address, httpPort, processes: servers.map((server) => server.process) };
}

export async function startLocalServers(options: {
  binaries: Binaries;
  /** Given: the Temporal cluster on PostgreSQL in place of the dev server. */
  cluster?: ClusterBinaries;
  dir: string;
  namespace: string;
  credentials: S3Credentials;
  say?: (line: string) => void;
}) {
  const { binaries, cluster, dir, namespace, credentials, say = () => {} } = options;
  const temporal = cluster
    ? await startCluster(cluster, path.join(dir, 'cluster'), namespace, say)
    : await startDevServer(binaries.temporal, path.join(dir, 'temporal'), namespace);
  try {
    const { ports: s3Port, started: s3 } = await onFreePorts(freePort, (port) =>
      startS3Server({ binary: binaries.versitygw, dir: path.join(dir, 's3'), port, credentials }),
    );
    return { temporal, s3, s3Endpoint: `http://127.0.0.1:${s3Port}` };
  } catch (error) {
    for (const server of temporal.processes.reverse()) await server.stop();
    throw error;
  }
}
