// How every process of the stack reaches Temporal: the address, and TLS from the files TEMPORAL_TLS_* name.
// The files are read at each connect, so a rotated certificate (a Secret updated in place) is taken by the next
// process start without a new image or config.
import fs from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import { ConfigError, loadConfigOrReport, type Config, type TemporalTls } from './config.ts';

export type TemporalConnectionOptions = { address: string; tls?: TLSConfig };

export function temporalConnectionOptions(address: string, tls: TemporalTls | undefined): TemporalConnectionOptions {
  if (!tls) return { address };
  const { clientCertPath, clientKeyPath, serverCaCertPath, serverName } = tls;
  return {
    address,
    tls: {
      ...(serverName ? { serverNameOverride: serverName } : {}),
      ...(serverCaCertPath
        ? { serverRootCACertificate: readPem('TEMPORAL_TLS_SERVER_CA_CERT_PATH', serverCaCertPath) }
        : {}),
      ...(clientCertPath && clientKeyPath
        ? {
            clientCertPair: {
              crt: readPem('TEMPORAL_TLS_CLIENT_CERT_PATH', clientCertPath),
              key: readPem('TEMPORAL_TLS_CLIENT_KEY_PATH', clientKeyPath),
            },
          }
        : {}),
    },
  };
}

/** The file's bytes; a missing file or one that holds no PEM block is named with its variable (never its content). */
function readPem(variable: string, file: string): Buffer {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (error) {
    throw new ConfigError(`${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  if (!bytes.includes('-----BEGIN ')) throw new ConfigError(`${variable}: ${file} holds no PEM block`);
  return bytes;
}

/**
 * Where `ratchet worker` and `ratchet api` connect: the configured cluster and endpoint, or when nothing is
 * configured the servers of a `ratchet dev` on this machine.
 */
export function stackTargets(config: Config): { temporalAddress: string; s3Endpoint: string } {
  return {
    temporalAddress: config.temporal.address ?? `127.0.0.1:${config.temporal.localPorts.grpc}`,
    s3Endpoint: config.s3.endpoint ?? `http://127.0.0.1:${config.s3.localPort}`,
  };
}

/**
 * For `ratchet api` and `ratchet worker`: the config, where to connect and how, or undefined once the problem (a bad
 * variable, an unreadable TLS file) has been printed; the command then exits 2.
 */
export function connectionSetupOrReport(command: string) {
  const config = loadConfigOrReport(command);
  if (!config) return undefined;
  const targets = stackTargets(config);
  try {
    return { config, ...targets, options: temporalConnectionOptions(targets.temporalAddress, config.temporal.tls) };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${command}: ${error.message}`);
    return undefined;
  }
}
