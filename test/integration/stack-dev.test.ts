// `ratchet dev` as a user runs it: a separate process with its own data dir and ports. Ctrl-C must leave no
// process behind; a server that dies is started again on its ports and data, and workers and the API carry on; a
// server that keeps dying stops the whole stack with an error.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { locate, temporalCli } from '../../infra/provision.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

type DevStack = { child: ChildProcess; output: () => string; exited: Promise<number | null>; apiUrl: string };

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** Starts `ratchet dev` and resolves once its output shows `marker`. */
async function startDev(marker = 'Ratchet dev stack is up', extraEnv: NodeJS.ProcessEnv = {}): Promise<DevStack> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ratchet-dev-test-'));
  // Port 0 everywhere: the stack picks its ports as it binds them (picked earlier, another process could take one).
  const env = {
    ...process.env,
    RATCHET_DATA_DIR: dataDir,
    RATCHET_API_PORT: '0',
    RATCHET_TEMPORAL_PORT: '0',
    RATCHET_TEMPORAL_UI_PORT: '0',
    RATCHET_TEMPORAL_HTTP_PORT: '0',
    RATCHET_S3_PORT: '0',
    TEMPORAL_ADDRESS: '',
    S3_ENDPOINT: '',
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['bin/ratchet.mjs', 'dev'], { cwd: repoRoot, env });
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

function commandOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
  } catch {
    return '(exited)'; // between `ps` and now
  }
}

type Running = { pid: number; name: string };

function processesBelow(pid: number): Running[] {
  return descendants(pid).map((child) => ({ pid: child, name: path.basename(commandOf(child)) }));
}

/** Those still running a few seconds on: tsx's esbuild service exits by itself once its parent has. */
async function survivors(processes: Running[]): Promise<string[]> {
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

function kill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/** Waits for an async condition, treating a thrown error (a refused connection) as not yet. */
async function waitForAsync(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** How many workers poll `queue`, as the official temporal CLI reports it. */
async function pollers(temporal: string, address: string, queue: string): Promise<number> {
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

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('ratchet dev', () => {
  it('serves the API against its own servers and leaves no process after Ctrl-C', { timeout: 180_000 }, async () => {
    const dev = await startDev();
    expect((await fetch(`${dev.apiUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${dev.apiUrl}/readyz`);
    expect(ready.status).toBe(200);

    // temporal and versitygw, and the esbuild service tsx runs: all must be gone after Ctrl-C.
    const processes = processesBelow(dev.child.pid!);
    const names = processes.map(({ name }) => name);
    expect(names).toContain('temporal');
    expect(names).toContain('versitygw');

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.output()).toContain('dev: stopped');
    expect(await survivors(processes)).toEqual([]);
  });

  it('stops cleanly when Ctrl-C comes during start-up', { timeout: 180_000 }, async () => {
    const dev = await startDev('dev: temporal started');
    const processes = processesBelow(dev.child.pid!);
    expect(processes.map(({ name }) => name)).toContain('temporal');

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(dev.output()).not.toContain('Ratchet dev stack is up');
    expect(await survivors([...processes, ...processesBelow(dev.child.pid!)])).toEqual([]);
  });

  it('restarts a server that dies; workers poll again and the API serves', { timeout: 240_000 }, async () => {
    const adminKey = 'dev-restart-test-admin-key-0123456789';
    const dev = await startDev(undefined, { RATCHET_BOOTSTRAP_ADMIN_KEY: adminKey });
    const temporalAddress = /Temporal\s+(127\.0\.0\.1:\d+)/.exec(dev.output())![1];
    const jobs = () => fetch(`${dev.apiUrl}/v1/fine_tuning/jobs`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect((await jobs()).status).toBe(200);

    for (const name of ['versitygw', 'temporal']) {
      const server = processesBelow(dev.child.pid!).find((p) => p.name === name)!;
      kill(server.pid, 'SIGKILL');
      const restarted = name === 'versitygw' ? 's3' : 'temporal';
      await waitFor(() => dev.output().includes(`dev: ${restarted} restarted`), 60_000);
      expect(dev.output()).toContain(`dev: ${restarted} exited unexpectedly (killed by SIGKILL)`);
      await waitForAsync(async () => (await fetch(`${dev.apiUrl}/readyz`)).status === 200, 60_000);
    }
    // The API's client reached the new Temporal server, and the workers poll it again (a fresh server knows only
    // the pollers that reconnected to it).
    await waitForAsync(async () => (await jobs()).status === 200, 30_000);
    const temporal = (await locate(temporalCli))!;
    await waitForAsync(async () => (await pollers(temporal, temporalAddress, 'cpu')) > 0, 60_000);
    expect(dev.child.exitCode).toBeNull();

    const processes = processesBelow(dev.child.pid!);
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    expect(await survivors(processes)).toEqual([]);
  });

  it('stops the whole stack with an error when a server dies and restarts are off', { timeout: 180_000 }, async () => {
    const dev = await startDev(undefined, { RATCHET_DEV_RESTARTS: '0' });
    const processes = processesBelow(dev.child.pid!);
    const s3Server = processes.find(({ name }) => name === 'versitygw')!;

    kill(s3Server.pid, 'SIGKILL');
    expect(await dev.exited).toBe(1);
    expect(dev.output()).toContain('dev: s3 exited unexpectedly (killed by SIGKILL)');
    expect(await survivors(processes)).toEqual([]);
  });
});
