// One run of each kind the learning-quality benchmark compares: `ratchet train` as a user runs it, and a Python
// oracle script (PyTorch, scikit-learn) printing {"accuracy", "seconds"}.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const here = import.meta.dirname;

export interface Run {
  accuracy: number;
  seconds: number;
}

/** Where a run reads its data and writes its model, and how it is seeded. */
export interface RunPlan {
  train: string;
  test: string;
  out: string;
  seed: number;
  threads: number;
}

/** `ratchet train` on a plan with `flags`: the exported model's eval accuracy and the process's wall time. */
export async function ratchetTrain(plan: RunPlan, flags: string[]): Promise<Run> {
  const { train, test, out, seed, threads } = plan;
  const args = ['--train', train, '--eval', test, '--out', out, '--seed', String(seed), '--threads', String(threads)];
  const started = performance.now();
  const { stdout } = await exec(
    process.execPath,
    [join(here, '..', '..', 'bin/ratchet.mjs'), 'train', ...args, ...flags],
    { maxBuffer: 64 << 20 },
  );
  const metrics = JSON.parse(stdout.trim().split('\n').at(-1)!) as { accuracy: number };
  return { accuracy: metrics.accuracy, seconds: (performance.now() - started) / 1000 };
}

/** bench/learning/SCRIPT under the oracle Python. */
export async function oracle(python: string, script: string, args: string[]): Promise<Run> {
  const { stdout } = await exec(python, [join(here, script), ...args], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as Run;
}

/** Held-out accuracy in %, mean and sample standard deviation over runs, and the mean seconds per run. */
export function summary(runs: Run[]) {
  const acc = runs.map((r) => 100 * r.accuracy);
  const mean = acc.reduce((a, b) => a + b) / acc.length;
  const sd = Math.sqrt(acc.reduce((s, a) => s + (a - mean) ** 2, 0) / Math.max(1, acc.length - 1));
  const seconds = runs.reduce((s, r) => s + r.seconds, 0) / runs.length;
  return { mean, sd, seconds, accuracies: acc };
}

/** One seed's pair of runs on stderr as it finishes, so a long benchmark shows progress and a crash keeps them. */
export function reportPair(what: string, seed: number, ratchet: Run, peer: Run): void {
  const cell = (run: Run) => `${(100 * run.accuracy).toFixed(1)} % (${run.seconds.toFixed(1)} s)`;
  console.error(`${what} seed ${seed}: Ratchet ${cell(ratchet)}, peer ${cell(peer)}`);
}
