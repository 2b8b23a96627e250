// The Temporal server (go.temporal.io/server, built by `ratchet provision --cluster`) on PostgreSQL: the schemas made
// with its SQL tool, then frontend, history, matching and worker each in a process of its own, as a production
// cluster runs them. Four processes rather than one with four --service flags: the services then reach each other
// only over gRPC and the membership ring (as across machines), and one of them can be killed and restarted alone.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import proto from '@temporalio/proto';
import { freePortIn } from '../ports.ts';
import { startRestartable, type Restartable } from '../process.ts';
import type { ClusterBinaries } from '../provision.ts';
import { searchAttributes } from '../temporal-server.ts';
import type { Postgres } from './postgres.ts';

const exec = promisify(execFile);
// A CommonJS package: Node's ESM loader sees only its default export.
const { temporal } = proto;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** In start order: history and matching first, so the frontend finds them; the worker service calls the frontend. */
export const clusterServices = ['history', 'matching', 'frontend', 'worker'] as const;
type Service = (typeof clusterServices)[number];
type ServicePorts = { grpc: number; membership: number };
export type ClusterPorts = Record<Service, ServicePorts> & { frontendHttp: number };

// Few shards: each is a unit of history's work with its own queues in the database; four keep a two-core machine's
// PostgreSQL quiet and still spread workflows over more than one (a shard count cannot change after the first start).
const HISTORY_SHARDS = 4;
const databases = { temporal: 'postgresql/v12/temporal', temporal_visibility: 'postgresql/v12/visibility' };

// The server records each service's ports in the cluster_membership table as smallint (at most 32767), so they are
// picked below the OS's ephemeral range (32768 and up on Linux) and above the well-known ports.
const freePort = () => freePortIn(10_000, 32_767);

export async function pickClusterPorts(): Promise<ClusterPorts> {
  const service = async () => ({ grpc: await freePort(), membership: await freePort() });
  return {
    history: await service(),
    matching: await service(),
    frontend: await service(),
    worker: await service(),
    frontendHttp: await freePort(),
  };
}

/** Creates both databases and brings their schemas to the tool's version; every step is a no-op when done before. */
export async function setupSchemas(sqlTool: string, postgres: Postgres): Promise<void> {
  // The password reaches the tool through its environment, never its command line (visible in `ps`).
  const env = {
    ...process.env,
    SQL_HOST: '127.0.0.1',
    SQL_PORT: String(postgres.port),
    SQL_USER: postgres.user,
    SQL_PASSWORD: postgres.password,
  };
  const deadline = Date.now() + 60_000;
  for (const [database, schema] of Object.entries(databases)) {
    for (const step of [
      ['create-database'],
      ['setup-schema', '-v', '0.0'],
      ['update-schema', '--schema-name', schema],
    ]) {
      for (;;) {
        try {
          await exec(sqlTool, ['--plugin', 'postgres12', '--db', database, ...step], { env, timeout: 120_000 });
          break;
        } catch (error) {
          // PostgreSQL accepts connections before it serves them ("the database system is starting up").
          const { stderr, message } = error as { stderr?: string; message: string };
          if (/starting up/.test(stderr ?? '') && Date.now() < deadline) await sleep(500);
          else throw new Error(`temporal-sql-tool ${step[0]} on ${database}: ${(stderr || message).trim()}`);
        }
      }
    }
  }
}

/** The server's config: JSON, which its YAML loader reads as well. No pprof or metrics listeners (fixed ports). */
function serverConfig(postgres: Postgres, ports: ClusterPorts) {
  const datastore = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${postgres.port}`,
      connectProtocol: 'tcp',
      user: postgres.user,
      password: postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const rpc = (service: Service) => ({
    rpc: {
      grpcPort: ports[service].grpc,
      membershipPort: ports[service].membership,
      bindOnLocalHost: true,
      ...(service === 'frontend' ? { httpPort: ports.frontendHttp } : {}),
    },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: HISTORY_SHARDS,
      datastores: { default: datastore('temporal', 20), visibility: datastore('temporal_visibility', 4) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services: Object.fromEntries(clusterServices.map((service) => [service, rpc(service)])),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontend(ports) },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
  };
}

export const frontend = (ports: ClusterPorts) => `127.0.0.1:${ports.frontend.grpc}`;

/**
 * Writes the config under `dir` (mode 0600: it holds the database password) and starts the four services in order;
 * if one fails to start (PortInUse included, for onFreePorts to pick new ports), those already started are stopped.
 */
export async function startTemporalCluster(options: {
  binaries: ClusterBinaries;
  dir: string;
  postgres: Postgres;
  ports: ClusterPorts;
}): Promise<Restartable[]> {
  const { binaries, dir, postgres, ports } = options;
  fs.mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, 'config.yaml');
  fs.writeFileSync(configFile, JSON.stringify(serverConfig(postgres, ports), null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(configFile, 0o600); // writeFileSync's mode applies to a new file only
  const started: Restartable[] = [];
  try {
    for (const service of clusterServices) {
      started.push(
        await startRestartable({
          name: `temporal-${service}`,
          command: binaries.server,
          // --allow-no-auth: no authorizer is configured; every port is bound to loopback only.
          args: ['--config-file', configFile, '--allow-no-auth', 'start', '--service', service],
          logFile: path.join(dir, `${service}.log`),
          port: ports[service].grpc,
          readyTimeoutMs: 120_000,
        }),
      );
    }
    return started;
  } catch (error) {
    for (const server of started.reverse()) await server.process.stop();
    throw error;
  }
}

/**
 * Registers `namespace` and Ratchet's search attributes (the dev server takes both as flags; a cluster is told over
 * its operator API), then waits until the frontend lists them. Safe to repeat on a cluster that has them.
 */
export async function registerNamespace(address: string, namespace: string, timeoutMs = 120_000): Promise<void> {
  const connection = await Connection.connect({ address });
  const deadline = Date.now() + timeoutMs;
  // Right after start-up the frontend answers Unavailable until the services have joined the membership ring.
  const retrying = async <T>(what: string, call: () => Promise<T>): Promise<T | undefined> => {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (isGrpcServiceError(error) && error.code === 6 /* ALREADY_EXISTS */) return undefined;
        if (Date.now() > deadline) throw new Error(`${what} on ${address}: ${(error as Error).message}`);
        await sleep(500);
      }
    }
  };
  try {
    await retrying('registering namespace ' + namespace, () =>
      connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs('7 days'),
      }),
    );
    const indexed = temporal.api.enums.v1.IndexedValueType;
    await retrying('adding search attributes', () =>
      connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(
          Object.entries(searchAttributes).map(([name, type]) => [
            name,
            indexed[`INDEXED_VALUE_TYPE_${type.toUpperCase()}` as keyof typeof indexed],
          ]),
        ),
      }),
    );
    for (;;) {
      const listed = await retrying('listing search attributes', () =>
        connection.operatorService.listSearchAttributes({ namespace }),
      );
      const names = Object.keys(listed?.customAttributes ?? {});
      if (Object.keys(searchAttributes).every((name) => names.includes(name))) return;
      if (Date.now() > deadline) throw new Error(`search attributes not listed on ${address} after registering them`);
      await sleep(500);
    }
  } finally {
    await connection.close();
  }
}
