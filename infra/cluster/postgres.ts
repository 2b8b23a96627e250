// PostgreSQL for the cluster profile: the Debian package's binaries, a data directory of the stack's own, loopback
// TCP only (no Unix socket, so nothing is written outside the directory), password authentication.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startRestartable, type Restartable } from '../process.ts';

const exec = promisify(execFile);

/** The superuser initdb creates; the Temporal server and its schema tool connect as it. */
export const POSTGRES_USER = 'temporal';

export type Postgres = { server: Restartable; port: number; user: string; password: string };

/** Debian installs each major version under /usr/lib/postgresql/<major>/bin, off PATH; the newest is taken. */
export function postgresBinDir(): string {
  const debian = '/usr/lib/postgresql';
  const majors = fs.existsSync(debian)
    ? fs
        .readdirSync(debian)
        .filter((major) => fs.existsSync(path.join(debian, major, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length > 0) return path.join(debian, majors[0], 'bin');
  const onPath = (process.env.PATH ?? '').split(path.delimiter).find((dir) => fs.existsSync(path.join(dir, 'initdb')));
  if (onPath) return onPath;
  throw new Error('PostgreSQL is not installed (no initdb): on Debian or Ubuntu, `apt-get install postgresql`');
}

/**
 * initdb and postgres refuse to run as root. As root (CI, containers) they run in a user namespace in which this
 * process's uid 0 appears as `nobody` (65534): the server is not root there, yet the files it makes belong to the
 * same root outside, so the data directory can sit anywhere the stack's data does (a system `postgres` user could
 * not enter /root, for one).
 */
function asNonRoot(command: string, args: string[]): { command: string; args: string[] } {
  if (process.getuid?.() !== 0) return { command, args };
  return { command: 'unshare', args: ['--user', '--map-user=65534', '--map-group=65534', command, ...args] };
}

async function run(command: string, args: string[]): Promise<void> {
  const wrapped = asNonRoot(command, args);
  try {
    await exec(wrapped.command, wrapped.args, { timeout: 120_000 });
  } catch (error) {
    const { stderr, message } = error as { stderr?: string; message: string };
    const hint =
      process.getuid?.() === 0 && /unshare/.test(stderr ?? message)
        ? ' (as root, PostgreSQL runs in a user namespace: this machine does not allow one; run as a non-root user)'
        : '';
    throw new Error(`${path.basename(command)} failed${hint}: ${(stderr || message).trim()}`);
  }
}

/**
 * Creates a database cluster under `dir`/data unless one is there from an earlier start; its generated password is
 * kept in `dir`/password (mode 0600) beside it. Returns the password.
 */
export async function initPostgres(dir: string): Promise<string> {
  const passwordFile = path.join(dir, 'password');
  const dataDir = path.join(dir, 'data');
  // initdb writes PG_VERSION early, so a cluster without the password file beside it is a half-made one.
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION')) || !fs.existsSync(passwordFile)) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(passwordFile, randomBytes(24).toString('base64url'), { mode: 0o600 });
    await run(path.join(postgresBinDir(), 'initdb'), [
      ...['-D', dataDir, `--username=${POSTGRES_USER}`, `--pwfile=${passwordFile}`],
      ...['--auth=scram-sha-256', '--encoding=UTF8', '--locale=C', '--no-sync'],
    ]);
  }
  return fs.readFileSync(passwordFile, 'utf8').trim();
}

/** Starts the server of the cluster that initPostgres made under `dir` on 127.0.0.1:`port`. */
export async function startPostgres(dir: string, port: number, password: string): Promise<Postgres> {
  const { command, args } = asNonRoot(path.join(postgresBinDir(), 'postgres'), [
    ...['-D', path.join(dir, 'data'), '-p', String(port)],
    ...['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
  ]);
  const server = await startRestartable({
    name: 'postgres',
    command,
    args,
    logFile: path.join(dir, 'postgres.log'),
    port,
  });
  return { server, port, user: POSTGRES_USER, password };
}
