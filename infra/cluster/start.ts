// The cluster profile's Temporal: PostgreSQL, the schemas, the four server services and the namespace, under `dir`,
// on free loopback ports picked again when another process takes one first (infra/ports.ts). What
// `ratchet dev --cluster` and the test harness (RATCHET_TEST_TEMPORAL=cluster) run in place of the dev server.
import path from 'node:path';
import { freePort, onFreePorts } from '../ports.ts';
import type { Restartable } from '../process.ts';
import type { ClusterBinaries } from '../provision.ts';
import { initPostgres, startPostgres } from './postgres.ts';
import {
  frontend,
  pickClusterPorts,
  registerNamespace,
  setupSchemas,
  startTemporalCluster,
} from './temporal-cluster.ts';

export type TemporalCluster = {
  /** The frontend's gRPC address, host:port. */
  address: string;
  /** The frontend's HTTP API (grpc-gateway). */
  httpPort: number;
  /** PostgreSQL first, then the services in start order (stop them in reverse), each with how to restart it. */
  servers: Restartable[];
};

export async function startTemporalClusterStack(options: {
  binaries: ClusterBinaries;
  dir: string;
  namespace: string;
  say: (line: string) => void;
}): Promise<TemporalCluster> {
  const { binaries, dir, namespace, say } = options;
  const postgresDir = path.join(dir, 'postgres');
  const password = await initPostgres(postgresDir);
  const { started: postgres } = await onFreePorts(freePort, (port) => startPostgres(postgresDir, port, password));
  const servers: Restartable[] = [postgres.server];
  try {
    const { pid, logFile } = postgres.server.process;
    say(`postgres up on 127.0.0.1:${postgres.port} (pid ${pid}, log ${logFile})`);
    await setupSchemas(binaries.sqlTool, postgres);
    const { ports, started } = await onFreePorts(pickClusterPorts, (ports) =>
      startTemporalCluster({ binaries, dir: path.join(dir, 'temporal'), postgres, ports }),
    );
    servers.push(...started);
    await registerNamespace(frontend(ports), namespace);
    const services = started.map(({ process: p }) => `${p.name} (pid ${p.pid})`).join(', ');
    say(`temporal cluster up at ${frontend(ports)}: ${services}`);
    return { address: frontend(ports), httpPort: ports.frontendHttp, servers };
  } catch (error) {
    for (const server of servers.reverse()) await server.process.stop();
    throw error;
  }
}
