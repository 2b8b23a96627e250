// The tools that render and check the Helm chart (deploy/helm/ratchet) offline: Helm itself (built once with
// `go install` into the project cache, as `ratchet provision helm` does), the chart validator
// (deploy/helm/validate, built with `go build` into the cache under a hash of its source, so an edit rebuilds it)
// and KEDA's Go module, whose CRDs and temporal scaler source the validator reads (`go mod download`: a 3 MB zip
// from the module proxy, kept in Go's module cache).
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir, ensure, helm } from '../../infra/provision.ts';

const exec = promisify(execFile);
const root = path.join(import.meta.dirname, '..', '..');
export const chartDir = path.join(root, 'deploy', 'helm', 'ratchet');
const validatorDir = path.join(root, 'deploy', 'helm', 'validate');

/** The KEDA release whose CRDs the chart is checked against; the chart needs at least this KEDA in the cluster. */
export const KEDA_VERSION = '2.21.0';

export type ChartTools = { helm: string; validator: string; kedaDir: string };

export async function chartTools(say: (line: string) => void): Promise<ChartTools> {
  const [helmPath, validator, kedaDir] = await Promise.all([ensure(helm, say), buildValidator(say), kedaModule()]);
  return { helm: helmPath, validator, kedaDir };
}

async function buildValidator(say: (line: string) => void): Promise<string> {
  const hash = createHash('sha256');
  for (const file of fs.readdirSync(validatorDir).sort()) {
    if (/\.go$|^go\.(mod|sum)$/.test(file)) hash.update(file).update(fs.readFileSync(path.join(validatorDir, file)));
  }
  const binary = path.join(cacheDir(), 'bin', `helm-validate-${hash.digest('hex').slice(0, 12)}`, 'validate');
  if (fs.existsSync(binary)) return binary;
  say(`building the chart validator (deploy/helm/validate) into ${path.dirname(binary)}`);
  // -mod=readonly: go.sum must already list every module, so a build never edits the repository.
  await exec('go', ['build', '-mod=readonly', '-o', binary, '.'], { cwd: validatorDir });
  return binary;
}

async function kedaModule(): Promise<string> {
  // Outside any module (a temp dir), so no go.mod or go.sum is touched.
  const { stdout } = await exec('go', ['mod', 'download', '-json', `github.com/kedacore/keda/v2@v${KEDA_VERSION}`], {
    cwd: os.tmpdir(),
    maxBuffer: 1 << 20,
  });
  const info = JSON.parse(stdout) as { Dir?: string; Error?: string };
  if (info.Error || !info.Dir) throw new Error(`go mod download of KEDA v${KEDA_VERSION}: ${info.Error ?? 'no Dir'}`);
  return info.Dir;
}

/** `helm <args>`; rejects with Helm's own message. */
export async function runHelm(tools: ChartTools, args: string[]): Promise<string> {
  // `helm lint` prints its findings on stdout and only its verdict on stderr.
  const { stdout } = await exec(tools.helm, args, { maxBuffer: 16 << 20 }).catch(
    (error: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`helm ${args.join(' ')}: ${error.stdout ?? ''}${error.stderr || error.message}`);
    },
  );
  return stdout;
}

/** The chart rendered with `valuesFiles` (none: the defaults) and any more of Helm's flags. */
export function renderChart(tools: ChartTools, valuesFiles: string[] = [], flags: string[] = []): Promise<string> {
  const values = valuesFiles.flatMap((file) => ['--values', file]);
  return runHelm(tools, ['template', 'ratchet', chartDir, '--namespace', 'ratchet', ...values, ...flags]);
}

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; [field: string]: unknown };

/** The validator's verdict on `manifests`: its exit status, its report, and the objects it read. */
export function validate(tools: ChartTools, manifests: string) {
  const jsonFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ratchet-chart-')), 'objects.json');
  try {
    const result = spawnSync(tools.validator, ['-keda', tools.kedaDir, '-json', jsonFile], {
      input: manifests,
      encoding: 'utf8',
    });
    if (result.status === 2 || result.error) throw new Error(`validator: ${result.stderr || result.error}`);
    const objects = fs.existsSync(jsonFile) ? (JSON.parse(fs.readFileSync(jsonFile, 'utf8')) as K8sObject[]) : [];
    return { status: result.status, report: result.stdout, objects };
  } finally {
    fs.rmSync(path.dirname(jsonFile), { recursive: true, force: true });
  }
}
