// Supervision of the server processes the dev stack and the test harness run: start with output to a log file,
// wait until the port accepts connections (or, for a worker, until its log says it is ready), stop with SIGTERM then SIGKILL. A start that finds its port taken
// (before the child binds it, or by the child's failing to bind) throws PortInUse, so that a caller that chose
// the port can choose another (infra/ports.ts, `onFreePorts`).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export type ManagedProcess = {
  name: string;
  pid: number;
  logFile: string;
  /** Settles when the process has exited, for whatever reason. */
  exited: Promise<Exit>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
};

/** The port was taken by another process: before the start, or before the child could bind it. */
export class PortInUse extends Error {
  override name = 'PortInUse';
}

export type StartOptions = {
  name: string;
  command: string;
  args: string[];
  /** Added to this process's environment; how secrets reach a child without showing in `ps`. */
  env?: Record<string, string>;
  logFile: string;
  readyTimeoutMs?: number;
} & (
  | {
      /** The child counts as started once 127.0.0.1:port accepts a TCP connection. */
      port: number;
    }
  | {
      /** For a child that listens on nothing (a worker): started once this start's output matches. */
      readyLine: RegExp;
    }
);

// Children run in their own process group so that a terminal's Ctrl-C reaches only the supervisor, which then
// stops them in order (and can tell an expected exit from a crash). The price is that they would outlive a
// supervisor that exits abruptly, so every live child is killed when this process exits, however it exits.
const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) killGroup(pid, 'SIGKILL');
});

export async function startProcess(options: StartOptions): Promise<ManagedProcess> {
  const { name, command, args, env, logFile, readyTimeoutMs = 60_000 } = options;
  const port = 'port' in options ? options.port : undefined;
  // Otherwise readiness would be judged by whatever already listens there.
  if (port !== undefined && (await accepts(port))) {
    throw new PortInUse(`${name}: port 127.0.0.1:${port} is already in use`);
  }
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, 'a');
  const logStart = fs.fstatSync(log).size; // this start's output begins here
  const child = spawn(command, args, {
    stdio: ['ignore', log, log],
    env: { ...process.env, ...env },
    detached: true,
  });
  fs.closeSync(log);

  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', (error) => reject(new Error(`${name}: cannot start ${command}: ${error.message}`)));
  });
  live.add(pid);
  void exited.then(() => live.delete(pid));

  const stop = async (graceMs = 5_000) => {
    if (!live.has(pid)) return;
    killGroup(pid, 'SIGTERM');
    // An unref'd timer: a grace period must not keep the supervisor alive once the child is gone.
    const gone = await Promise.race([exited.then(() => true), sleep(graceMs, false, { ref: false })]);
    if (!gone) {
      killGroup(pid, 'SIGKILL');
      await exited;
    }
  };

  const gaveUp = new AbortController();
  const isReady =
    port === undefined
      ? () => Promise.resolve('readyLine' in options && options.readyLine.test(readFrom(logFile, logStart)))
      : () => accepts(port);
  const ready = await Promise.race([
    waitUntil(isReady, readyTimeoutMs, gaveUp.signal).then((ok) => (ok ? 'ready' : 'timeout')),
    exited.then((exit) => exit),
  ]);
  gaveUp.abort(); // a child that died needs no more polling
  // Another process may have bound the port between the check above and the child's bind: then what accepted
  // is not the child, and the child fails (Temporal: "bind: address already in use").
  if (ready === 'ready' && (port === undefined || listenerOwnedBy(pid, port) !== false)) {
    return { name, pid, logFile, exited, stop };
  }
  await stop(1_000);
  if (ready === 'ready' || (ready !== 'timeout' && /address already in use/i.test(readFrom(logFile, logStart)))) {
    throw new PortInUse(`${name}: port 127.0.0.1:${port} was taken by another process during start-up`);
  }
  const why =
    ready === 'timeout'
      ? port === undefined
        ? `did not report being ready within ${readyTimeoutMs / 1000} s`
        : `did not accept connections on 127.0.0.1:${port} within ${readyTimeoutMs / 1000} s`
      : `exited during start-up (${describeExit(ready)})`;
  throw new Error(`${name} ${why}. Last lines of ${logFile}:\n${tail(logFile)}`);
}

/** A started process and how to start it again as it was (same command, ports and log): what a supervisor restarts. */
export type Restartable = { process: ManagedProcess; restart: () => Promise<ManagedProcess> };

export async function startRestartable(options: StartOptions): Promise<Restartable> {
  return { process: await startProcess(options), restart: () => startProcess(options) };
}

/**
 * Whether the socket listening on 127.0.0.1:port (or any address) belongs to process `pid`; undefined where this
 * cannot be told (no /proc: not Linux).
 */
export function listenerOwnedBy(pid: number, port: number): boolean | undefined {
  let inodes: Set<string>;
  try {
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    inodes = new Set(
      ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((table) =>
        fs
          .readFileSync(table, 'utf8')
          .split('\n')
          .slice(1)
          .map((line) => line.trim().split(/\s+/))
          // local_address is HEXIP:HEXPORT, state 0A is LISTEN, the inode is the tenth field.
          .filter((f) => f.length > 9 && f[1].endsWith(`:${hexPort}`) && f[3] === '0A')
          .map((f) => f[9]),
      ),
    );
  } catch {
    return undefined;
  }
  if (inodes.size === 0) return false;
  try {
    const fds = fs.readdirSync(`/proc/${pid}/fd`);
    return fds.some((fd) => {
      try {
        const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
        return inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
      } catch {
        return false; // closed meanwhile
      }
    });
  } catch {
    return false; // the child is gone
  }
}

function readFrom(file: string, offset: number): string {
  try {
    return fs.readFileSync(file).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

export function describeExit({ code, signal }: Exit): string {
  return signal ? `killed by ${signal}` : `exit code ${code}`;
}

/** Polls `isReady` (a TCP connect, a look at the log); false when `timeoutMs` passes or `signal` aborts first. */
async function waitUntil(isReady: () => Promise<boolean>, timeoutMs: number, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    if (await isReady()) return true;
    await sleep(100);
  }
  return false;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log written)';
  }
}
