// `ratchet validate --train FILE [--eval FILE] [--ood FILE] [--manifest FILE.json] [--policy FILE.json] [--out REPORT.json]`:
// the validation the pipeline runs, on local files. The report goes to stdout (or --out), one line per finding
// to stderr; the exit code is 0 when it passed and 1 when it has blocking findings or could not run.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { parseOptions, runCommand, stringOptions } from './args.ts';
import type { DatasetFile } from '../../governance/dataset/findings.ts';
import type { DatasetManifest, ValidationPolicyInput } from '../../governance/dataset/policy.ts';
import { fileChunks } from '../../governance/dataset/file-chunks.ts';
import { validateDataset } from '../../governance/dataset/validate.ts';
import { bytesProgressBar } from './progress.ts';

/** Files from this size on show a progress bar on stderr (about a quarter of a second of reading). */
const PROGRESS_FROM_BYTES = 10e6;

const USAGE =
  'usage: ratchet validate --train FILE [--eval FILE] [--ood FILE] [--manifest FILE.json] [--policy FILE.json] [--out REPORT.json]';

export function run(args: string[]): Promise<number> {
  return runCommand('validate', USAGE, args, async () => {
    const opts = parseOptions(args, stringOptions('train', 'eval', 'ood', 'manifest', 'policy', 'out'));
    if (!opts.train) throw new Error(USAGE);
    const sources: Partial<Record<DatasetFile, AsyncIterable<Uint8Array>>> = {};
    let totalBytes = 0;
    for (const file of ['train', 'eval', 'ood'] as const) {
      const path = opts[file];
      if (path === undefined) continue;
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) throw new Error(`--${file}: no file at ${path}`);
      totalBytes += info.size;
      sources[file] = fileChunks(path);
    }
    // Files this small are validated in well under a second: no bar for them.
    const bar = totalBytes >= PROGRESS_FROM_BYTES ? bytesProgressBar(process.stderr, totalBytes) : undefined;
    const report = await validateDataset(
      { ...sources, train: sources.train! },
      // Untrusted JSON: validateDataset parses both and names the field that is wrong.
      {
        manifest: (await readJson('--manifest', opts.manifest)) as DatasetManifest | undefined,
        policy: (await readJson('--policy', opts.policy)) as ValidationPolicyInput | undefined,
        onProgress: bar?.update,
        expectedBytes: totalBytes,
      },
    ).finally(() => bar?.done());

    for (const f of report.findings) {
      const lines =
        f.examples.length > 0 ? ` (lines ${f.examples.join(', ')}${f.count > f.examples.length ? ', ...' : ''})` : '';
      console.error(`${f.severity.padEnd(8)} ${f.file}: ${f.code} x${f.count}${lines}: ${f.message}`);
    }
    console.error(report.passed ? 'passed' : 'failed: blocking findings');
    const json = JSON.stringify(report, null, 2);
    if (opts.out) await writeFile(opts.out, json + '\n');
    else console.log(json);
    return report.passed ? 0 : 1;
  });
}

async function readJson(flag: string, path: string | undefined): Promise<unknown> {
  if (path === undefined) return undefined;
  const text = await readFile(path, 'utf8').catch(() => {
    throw new Error(`${flag}: cannot read ${path}`);
  });
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${flag}: ${path} is not valid JSON`);
  }
}
