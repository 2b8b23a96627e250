// A Python peer as a process that stays up, so the bench can pair each of its rounds with one of the engine's
// moments apart: the script prints `{"ready": true}` once loaded, then answers every line written to it with one
// JSON line. Where it cannot start or dies (no torch, a Python error), each round yields the reason instead.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export type PeerReply = Record<string, unknown> | { error: string };

export async function startPythonPeer(
  python: string,
  script: string,
  args: string[],
): Promise<{ round: (command?: string) => Promise<PeerReply>; stop: () => void }> {
  const child = spawn(python, [script, ...args]);
  let stderr = '';
  let spawnError = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.on('error', (e) => (spawnError = e.message));
  // Not events.once: it rejects on the spawn error that the 'error' listener above records.
  const closed = new Promise((resolve) => child.on('close', resolve));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<PeerReply> => {
    const line = await lines.next();
    if (!line.done) return JSON.parse(line.value);
    await closed;
    return { error: stderr.split('\n').find((l) => /^\w*Error\b/.test(l)) ?? (spawnError || 'exited') };
  };
  const ready = await next();
  return {
    round: async (command = 'round') => {
      if ('error' in ready) return ready;
      child.stdin.write(`${command}\n`);
      return next();
    },
    stop: () => child.stdin.end(),
  };
}
