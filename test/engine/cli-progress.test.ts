// Training progress where users run it: a bar redrawn in place on a terminal (a real pseudo-terminal, through
// util-linux `script`), plain lines on a schedule in a pipe, with examples/s and the time left.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bytesProgressBar, jobProgressBar, progressBar } from '../../infra/cli/progress.ts';
import { irisJsonl } from '../helpers/iris.ts';
import { ratchet, root } from './ratchet-cli.ts';

const LINE = /\d+\/\d+ epoch \d+ loss \d+\.\d{4} \| \d+ ex\/s \| eta \S+/;

async function irisArgs() {
  const dir = await mkdtemp(join(tmpdir(), 'ratchet-progress-'));
  await writeFile(join(dir, 'train.jsonl'), irisJsonl());
  return ['--train', join(dir, 'train.jsonl'), '--hidden', '16', '--epochs', '60', '--out', join(dir, 'out')];
}

describe('training progress', () => {
  it('prints a plain line on each tick where the stream is not a terminal, none redrawn', async () => {
    const writes: string[] = [];
    const stream = { isTTY: false, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const bar = progressBar(stream, { examplesPerStep: 32, plainEveryMs: 20 });
    for (let step = 1; step <= 10; step++) {
      bar.update({ step, totalSteps: 10, epoch: 1, loss: 1 / step, lr: 1e-3, elapsedMs: step * 100 });
      await sleep(15);
    }
    bar.done();
    const lines = writes.join('').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).toMatch(LINE);
    // 9 steps of 32 examples in 0.9 s, measured from the first step seen.
    expect(lines.at(-1)).toMatch(/10\/10 epoch 1 loss 0\.1000 \| 320 ex\/s/);
    expect(writes.join('')).not.toContain('\r');
  });

  it("a job's bar (ratchet jobs watch) prints plain lines in a pipe and starts afresh for the next stage", async () => {
    const writes: string[] = [];
    const stream = { isTTY: false, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const bar = jobProgressBar(stream, 20);
    for (let step = 1; step <= 6; step++) {
      bar.update({ step, total_steps: 6, loss: 1 / step, ...(step > 3 ? { eval_loss: 0.5 } : {}) });
      await sleep(15);
    }
    bar.stop();
    // A figure the job has not got yet (JSON's null for NaN) is a dash, not a crash of `ratchet jobs watch`.
    bar.update({ step: 0, total_steps: 40, loss: null as unknown as number });
    bar.update({ step: 1, total_steps: 40, loss: 2 });
    bar.stop();
    const lines = writes.join('').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).toMatch(/\d+\/\d+ loss (\d+\.\d{4}|–)( eval \d\.\d{4})? \| eta \S+/);
    expect(lines).toContainEqual(expect.stringMatching(/ 6\/6 loss 0\.1667 eval 0\.5000 /));
    expect(lines.at(-1)).toMatch(/ 1\/40 loss 2\.0000 /);
    expect(writes.join('')).not.toContain('\r');
  });

  it("a validation's bar (ratchet validate) counts MB read and MB/s, then says the labels are being checked", async () => {
    const writes: string[] = [];
    const stream = { isTTY: false, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const bar = bytesProgressBar(stream, 40e6, 20);
    for (let read = 0; read <= 40e6; read += 8e6) {
      bar.update(read);
      await sleep(15);
    }
    bar.update(40e6); // the mislabel check's heartbeats, all bytes read
    await sleep(25);
    bar.done();
    const lines = writes.join('').split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      expect(line).toMatch(/ \d+\/40 MB \| (\d+\.\d|–) MB\/s \| (reading, eta (\d+s|–)|checking labels)$/);
    }
    expect(lines).toContainEqual(expect.stringMatching(/ (8|16|24|32)\/40 MB \| \d+\.\d MB\/s \| reading, eta \d+s$/));
    expect(lines.at(-1)).toMatch(/ 40\/40 MB .* checking labels$/);
    expect(writes.join('')).not.toContain('\r');
  });

  it('ratchet train in a pipe ends with a plain progress line on stderr', async () => {
    const run = await ratchet('train', ...(await irisArgs()));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.split('\n').some((line) => LINE.test(line))).toBe(true);
    expect(run.stderr).not.toContain('\r');
  });

  it('ratchet train on a terminal redraws one bar in place', async () => {
    const command = ['node', join(root, 'bin/ratchet.mjs'), 'train', ...(await irisArgs())].join(' ');
    const { stdout } = await promisify(execFile)('script', ['-qec', command, '/dev/null'], { cwd: root });
    expect(stdout).toMatch(/[█░]{24} \d+\/\d+ epoch/);
    // Redrawn with a carriage return or cursor movement, not one line per update.
    expect(stdout).toMatch(/\r|\x1b\[\d*G/);
    expect(stdout).toMatch(LINE);
    expect(stdout.split('\n').filter((line) => LINE.test(line)).length).toBeLessThan(5);
  });
});
