// `ratchet dev` as a user runs it, for the tests that stop, kill and restart its parts: a separate process with
// its own data dir and ports 0 everywhere, and the processes below it read from /proc.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The environment of a `ratchet dev` with servers of its own in `dataDir`, on ports it picks as it starts them (0:
 * picked earlier, another process could take one), whatever the caller's shell points at.
 */
export const ownStackEnv = (dataDir: string): NodeJS.ProcessEnv => ({
  ...process.env,
  RATCHET_DATA_DIR: dataDir,
  RATCHET_TEMPORAL_PORT: '0',
  RATCHET_TEMPORAL_UI_PORT: '0',
  RATCHET_TEMPORAL_HTTP_PORT: '0',
  RATCHET_S3_PORT: '0',
  TEMPORAL_ADDRESS: '',
  S3_ENDPOINT: '',
});

export type DevStack = { child: ChildProcess; output: () => string; exited: Promise<number | null>; apiUrl: string };

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Starts `ratchet dev` with `args` and resolves once its output shows `marker`. */
export async function startDev(
  marker = 'Ratchet dev stack is up',
  extraEnv: NodeJS.ProcessEnv = {},
  args: string[] = [],
): Promise<DevStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ratchet-dev-test-'));
  // Port 0 everywhere: the stack picks its ports as it binds them (picked earlier, another process could take one).
  const env = { ...ownStackEnv(dataDir), RATCHET_API_PORT: '0', ...extraEnv };
  const child = spawn(process.execPath, ['bin/ratchet.mjs', 'dev', ...args], { cwd: repoRoot, env });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => {
    // A test that failed half-way may leave the stack running; the exit check keeps us from signalling a PID
    // the system has already reused.
    if (child.exitCode === null && child.signalCode === null) {
      for (const pid of descendants(child.pid!)) kill(pid, 'SIGKILL');
      child.kill('SIGKILL');
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const up = await Promise.race([
    waitFor(() => output.includes(marker), 120_000).then(() => true),
    exited.then(() => false),
  ]);
  if (!up) throw new Error(`ratchet dev exited during start-up:\n${output}`);
  // The summary names the API's address; absent when the test stops it before the stack is up.
  const apiUrl = /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1] ?? '';
  return { child, output: () => output, exited, apiUrl };
}

/** Every process below `pid`, read from /proc (the servers run in their own process groups). */
function descendants(pid: number): number[] {
  const table = fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => ({ pid: Number(entry), parent: parentOf(Number(entry)) }));
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const entry of table) {
      if (entry.parent === parent) {
        found.push(entry.pid);
        visit(entry.pid);
      }
    }
  };
  visit(pid);
  return found;
}

/** The parent PID: the second field after the command name in /proc/<pid>/stat (the name may hold spaces). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined; // exited while we looked
  }
}

function commandOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return ['(exited)']; // between `ps` and now
  }
}

/** `name`: the executable's file name; `args`: its arguments, space-separated. */
type Running = { pid: number; name: string; args: string };

export function processesBelow(pid: number): Running[] {
  return descendants(pid).map((child) => {
    const [command, ...args] = commandOf(child);
    return { pid: child, name: path.basename(command), args: args.join(' ') };
  });
}

/** Those still running a few seconds on: tsx's esbuild service exits by itself once its parent has. */
export async function survivors(processes: Running[]): Promise<string[]> {
  await waitFor(() => !processes.some(({ pid }) => alive(pid)), 5_000).catch(() => {});
  return processes.filter(({ pid }) => alive(pid)).map(({ pid, name }) => `${name} (pid ${pid})`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Waits for an async condition, treating a thrown error (a refused connection) as not yet. */
export async function waitForAsync(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** How many workers poll `queue`, as the official temporal CLI reports it. */
export async function pollers(temporal: string, address: string, queue: string): Promise<number> {
  const { stdout } = await promisify(execFile)(temporal, [
    'task-queue',
    'describe',
    '--task-queue',
    queue,
    '--address',
    address,
    '--output',
    'json',
  ]);
  return (stdout.match(/"identity"/g) ?? []).length;
}

/** Waits until `condition` holds; past `timeoutMs` it throws, with what `seen` gives (the output to read, say). */
export async function waitFor(condition: () => boolean, timeoutMs: number, seen?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms${seen ? `; saw:\n${seen()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
