import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// Bundles the duplicate tables' thread (tables-worker.ts and what it imports) into one plain JavaScript module,
// gen/tables-worker.mjs, which tables-thread.ts starts: a thread that had to load TypeScript would cost three times
// the memory. `npm run gen:tables-worker` writes it; a unit test (tables-thread.test.ts) fails when it is stale.

export const GENERATED = fileURLToPath(new URL('./gen/tables-worker.mjs', import.meta.url));

/** The bundle's text, as `npm run gen:tables-worker` writes it. */
export async function bundleTablesWorker(): Promise<string> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./tables-worker.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    absWorkingDir: fileURLToPath(new URL('../..', import.meta.url)), // the paths in its comments, wherever it runs
    legalComments: 'none',
    banner: {
      js: '// Generated from tables-worker.ts by `npm run gen:tables-worker` (tables-worker.build.ts): do not edit.',
    },
  });
  return result.outputFiles[0].text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFileSync(GENERATED, await bundleTablesWorker());
