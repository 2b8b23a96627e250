// Versity Gateway serving a directory as S3: each top-level folder is a bucket, each file an object.
import fs from 'node:fs';
import path from 'node:path';
import type { S3Credentials } from './config.ts';
import { startProcess, type ManagedProcess } from './process.ts';

export type S3ServerOptions = {
  binary: string;
  /** Holds the objects (under data/) and the log. */
  dir: string;
  port: number;
  credentials: S3Credentials;
};

export function startS3Server({ binary, dir, port, credentials }: S3ServerOptions): Promise<ManagedProcess> {
  const root = path.join(dir, 'data');
  fs.mkdirSync(root, { recursive: true });
  return startProcess({
    name: 's3',
    command: binary,
    // --quiet: no line per request in the log.
    args: ['--port', `127.0.0.1:${port}`, '--quiet', 'posix', root],
    // Through the environment, so the secret does not show in `ps`.
    env: { ROOT_ACCESS_KEY_ID: credentials.accessKeyId, ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey },
    logFile: path.join(dir, 's3.log'),
    port,
  });
}
