// Configuration and provisioning: the parts of the stack that decide what runs before anything runs. (No server
// needed; they sit with the other stack tests.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config.ts';
import { cachedPath, ensure, locate, temporalCli } from '../../infra/provision.ts';
import { configErrorOf } from '../helpers/config-error.ts';

describe('loadConfig', () => {
  it('defaults to a local stack under .ratchet/ in the working directory', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config.dataDir).toBe('/srv/app/.ratchet');
    expect(config.apiPort).toBe(8080);
    expect(config.apiHost).toBe('127.0.0.1');
    expect(config.temporal).toMatchObject({ address: undefined, namespace: 'default' });
    expect(config.s3).toMatchObject({
      endpoint: undefined,
      bucket: 'ratchet',
      region: 'us-east-1',
      forcePathStyle: true,
    });
    expect(config.s3.credentials).toBeDefined();
  });

  it('names every bad variable and what it expects', () => {
    const env = { RATCHET_API_PORT: 'eighty', TEMPORAL_ADDRESS: 'http://temporal:7233', S3_BUCKET: 'Has_Caps' };
    const message = configErrorOf(env);
    expect(message).toMatch(/RATCHET_API_PORT: expected a port number \(got "eighty"\)/);
    expect(message).toMatch(/TEMPORAL_ADDRESS: expected host:port/);
    expect(message).toMatch(/S3_BUCKET: expected an S3 bucket name/);
  });

  it('rejects a port out of range, a URL for the listen address and a malformed endpoint URL', () => {
    expect(() => loadConfig({ RATCHET_API_PORT: '70000' })).toThrowError(/between 0 \(any free one\) and 65535/);
    expect(() => loadConfig({ RATCHET_API_HOST: 'http://0.0.0.0' })).toThrowError(
      /RATCHET_API_HOST: expected an address/,
    );
    expect(() => loadConfig({ S3_ENDPOINT: 'localhost 7070' })).toThrowError(/S3_ENDPOINT: expected a URL/);
  });

  it('wants both AWS keys or neither, and does not echo the secret', () => {
    const message = configErrorOf({ S3_ENDPOINT: 'http://s3:9000', AWS_SECRET_ACCESS_KEY: 'hunter2-secret' });
    expect(message).toMatch(/set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither/);
    expect(message).not.toContain('hunter2');
  });

  it('wants a long bootstrap admin key and never echoes it', () => {
    const message = configErrorOf({ RATCHET_BOOTSTRAP_ADMIN_KEY: 'short-secret' });
    expect(message).toMatch(/RATCHET_BOOTSTRAP_ADMIN_KEY: must be at least 32 characters/);
    expect(message).not.toContain('short-secret');
    const key = 'k'.repeat(32);
    expect(loadConfig({ RATCHET_BOOTSTRAP_ADMIN_KEY: key }).bootstrapAdminKey).toBe(key);
  });

  it('uses AWS_* keys for an external endpoint only, never for the local server', () => {
    const keys = { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'real-secret' };
    const external = loadConfig({
      ...keys,
      S3_ENDPOINT: 'https://s3.eu-west-1.amazonaws.com',
      AWS_REGION: 'eu-west-1',
    });
    expect(external.s3).toMatchObject({ endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'eu-west-1' });
    expect(external.s3.credentials).toEqual({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'real-secret' });

    const local = loadConfig(keys);
    expect(local.s3.credentials?.accessKeyId).not.toBe('AKIAEXAMPLE');
  });

  it('polls both task queues unless told which', () => {
    expect(loadConfig({}).temporal.taskQueues).toEqual(['cpu', 'gpu']);
    expect(loadConfig({ RATCHET_TASK_QUEUES: ' gpu ' }).temporal.taskQueues).toEqual(['gpu']);
    expect(configErrorOf({ RATCHET_TASK_QUEUES: 'cpu,tpu' })).toMatch(
      /RATCHET_TASK_QUEUES: expected a comma-separated list of cpu, gpu/,
    );
  });

  it('leaves credentials to the SDK chain for an external endpoint without keys', () => {
    expect(loadConfig({ S3_ENDPOINT: 'https://s3.amazonaws.com' }).s3.credentials).toBeUndefined();
  });
});

describe('provisioning', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  function tempDir(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ratchet-provision-test-'));
    dirs.push(dir);
    return dir;
  }

  /** A stand-in executable that prints `versionLine` for --version, like the real CLIs do. */
  function fakeBinary(dir: string, name: string, versionLine: string): string {
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/sh\necho '${versionLine}'\n`, { mode: 0o755 });
    return file;
  }

  it('takes a binary on PATH when it reports the pinned version', async () => {
    const bin = tempDir();
    const onPath = fakeBinary(bin, 'temporal', 'temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)');
    expect(await locate(temporalCli, { PATH: bin, RATCHET_CACHE_DIR: tempDir() })).toBe(onPath);
  });

  it('passes over a binary on PATH at another version and takes the cached one', async () => {
    const bin = tempDir();
    const cache = tempDir();
    fakeBinary(bin, 'temporal', 'temporal version 1.5.10 (Server 1.30.0, UI 2.44.0)');
    const env = { PATH: bin, RATCHET_CACHE_DIR: cache };
    const cached = cachedPath(temporalCli, env);
    expect(cached).toBe(path.join(cache, 'bin', 'temporal-1.5.1', 'temporal'));
    expect(await locate(temporalCli, env)).toBeUndefined();

    fakeBinary(path.dirname(cached), 'temporal', 'temporal version 0.0.0-DEV (Server 1.29.1, UI 2.42.1)');
    expect(await locate(temporalCli, env)).toBe(cached);
  });

  it('fails with how to install Go when there is nothing to use and no Go to build with', async () => {
    const env = { PATH: tempDir(), RATCHET_CACHE_DIR: tempDir() };
    await expect(ensure(temporalCli, () => {}, env)).rejects.toThrowError(
      /Install Go 1\.25 or newer \(https:\/\/go\.dev/,
    );
  });
});
