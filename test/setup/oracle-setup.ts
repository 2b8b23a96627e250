// vitest globalSetup for the `oracle` project: the Python oracles' venv (PyTorch, scikit-learn), built once into
// the project cache on a first run (minutes) and reused after; its python is provided to the test files.
import type { TestProject } from 'vitest/node';
import { oraclePython } from '../oracle/python.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    oraclePython: string;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('oraclePython', await oraclePython((line) => console.log(`[oracle] ${line}`)));
}
