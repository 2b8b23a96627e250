// The real `ratchet` CLI in a child process, as the engine's CLI tests run it.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';

export const root = join(import.meta.dirname, '../..');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function ratchet(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('node', [join(root, 'bin/ratchet.mjs'), ...args], { cwd: root }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** The metrics JSON a command prints as its last stdout line; the command must have succeeded. */
export function lastJson(run: Run): Record<string, unknown> {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
}
