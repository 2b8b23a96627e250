// Temporal TLS from the environment (TEMPORAL_TLS_*, infra/config.ts), as the Helm chart sets it: the settings
// parsed and checked, and the files they name reaching a real TLS handshake from both of the SDK's clients (the
// API's Connection, grpc-js; the workers' NativeConnection, Rust). The server here is Node's HTTP/2 over TLS,
// requiring a client certificate from the test CA; it records what each handshake presented.
//
// test/fixtures/temporal-tls: a throwaway CA and two certificates signed by it, for tests only (100 years):
//   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt ...
//   server: CN ratchet-test-server, SAN DNS:temporal.ratchet.test; client: CN ratchet-test-client, clientAuth.
import fs from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config.ts';
import { temporalConnectionOptions } from '../../infra/temporal-connection.ts';
import { configErrorOf } from '../helpers/config-error.ts';

const dir = path.join(import.meta.dirname, '..', 'fixtures', 'temporal-tls');
const file = (name: string) => path.join(dir, name);
const mtlsEnv = {
  TEMPORAL_ADDRESS: 'temporal.example:7233',
  TEMPORAL_TLS_CLIENT_CERT_PATH: file('client.crt'),
  TEMPORAL_TLS_CLIENT_KEY_PATH: file('client.key'),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: file('ca.crt'),
  TEMPORAL_TLS_SERVER_NAME: 'temporal.ratchet.test',
};

describe('Temporal TLS settings', () => {
  it('are off unless asked for, and on with TEMPORAL_TLS alone (the system CAs, no client certificate)', () => {
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal.example:7233' }).temporal.tls).toBeUndefined();
    expect(loadConfig({ TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_TLS: 'true' }).temporal.tls).toEqual({});
    const options = temporalConnectionOptions('temporal.example:7233', {});
    expect(options).toEqual({ address: 'temporal.example:7233', tls: {} });
  });

  it('resolve the files against the working directory and read them at connect time', () => {
    const config = loadConfig({ ...mtlsEnv, TEMPORAL_TLS_CLIENT_KEY_PATH: 'client.key' }, dir);
    expect(config.temporal.tls).toEqual({
      clientCertPath: file('client.crt'),
      clientKeyPath: file('client.key'),
      serverCaCertPath: file('ca.crt'),
      serverName: 'temporal.ratchet.test',
    });
    const { tls } = temporalConnectionOptions('temporal.example:7233', config.temporal.tls);
    expect(Buffer.from(tls!.clientCertPair!.key).equals(fs.readFileSync(file('client.key')))).toBe(true);
    expect(tls!.serverNameOverride).toBe('temporal.ratchet.test');
  });

  it('refuse half a client pair, certificates with TLS off, and TLS to the local dev server', () => {
    expect(configErrorOf({ ...mtlsEnv, TEMPORAL_TLS_CLIENT_KEY_PATH: '' })).toMatch(
      /set both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/,
    );
    expect(configErrorOf({ ...mtlsEnv, TEMPORAL_TLS: 'false' })).toMatch(/TEMPORAL_TLS is false but TEMPORAL_TLS_\*/);
    expect(configErrorOf({ ...mtlsEnv, TEMPORAL_ADDRESS: '' })).toMatch(/the local dev server speaks plaintext/);
    expect(configErrorOf({ TEMPORAL_TLS: 'yes' })).toMatch(/TEMPORAL_TLS: expected true or false/);
  });

  it('name the variable of a missing or non-PEM file, never its content', () => {
    const missing = loadConfig({ ...mtlsEnv, TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/nonexistent/ca.crt' }).temporal;
    expect(() => temporalConnectionOptions('t:7233', missing.tls)).toThrowError(
      /TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read \/nonexistent\/ca.crt \(ENOENT\)/,
    );
    const notPem = loadConfig({ ...mtlsEnv, TEMPORAL_TLS_CLIENT_KEY_PATH: import.meta.filename });
    expect(() => temporalConnectionOptions('t:7233', notPem.temporal.tls)).toThrowError(
      /TEMPORAL_TLS_CLIENT_KEY_PATH: .* holds no PEM block/,
    );
  });
});

describe('Temporal TLS handshake', () => {
  type Seen = { servername: TLSSocket['servername']; clientCn: unknown; authorized: boolean };
  const seen: Seen[] = [];
  let server: http2.Http2SecureServer;
  let address: string;

  beforeAll(async () => {
    server = http2.createSecureServer({
      key: fs.readFileSync(file('server.key')),
      cert: fs.readFileSync(file('server.crt')),
      ca: fs.readFileSync(file('ca.crt')),
      requestCert: true,
      rejectUnauthorized: true,
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      seen.push({
        servername: socket.servername,
        clientCn: socket.getPeerCertificate().subject?.CN,
        authorized: socket.authorized,
      });
    });
    // Every call ends at once with UNIMPLEMENTED: the handshake is what is under test, not Temporal's API.
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' }, { endStream: true });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const options = () => {
    const config = loadConfig({ ...mtlsEnv, TEMPORAL_ADDRESS: address });
    return temporalConnectionOptions(address, config.temporal.tls);
  };

  it.each([
    ['the API client (Connection)', () => Connection.connect({ ...options(), connectTimeout: 5_000 })],
    ['the worker client (NativeConnection)', () => NativeConnection.connect(options())],
  ])('%s presents the client certificate and verifies the server by its name and CA', async (_, connect) => {
    const before = seen.length;
    // The server answers UNIMPLEMENTED, so the connect may fail after the handshake; only the handshake counts.
    await connect().then(
      (connection) => connection.close(),
      () => undefined,
    );
    expect(seen.slice(before)).toContainEqual({
      servername: 'temporal.ratchet.test',
      clientCn: 'ratchet-test-client',
      authorized: true,
    });
  });
});
