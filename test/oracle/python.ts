// The Python oracles (PyTorch, scikit-learn) for tests and benchmarks, never the product: a virtualenv built from
// test/oracle/requirements.txt into the project cache, named by the requirements' hash so an edit builds a new
// one and an unchanged file reuses it. PyPI is one of the registries every machine here reaches.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../infra/provision.ts';

const exec = promisify(execFile);
const requirements = path.join(import.meta.dirname, 'requirements.txt');

/**
 * A virtualenv built from a requirements file into the project cache, named `<name>-<hash of the file>` so an edit
 * builds a new one and an unchanged file reuses it; `ready` marks one whose install finished.
 */
export function cachedVenv(
  name: string,
  requirementsFile: string,
  env: NodeJS.ProcessEnv = process.env,
): { dir: string; python: string; ready: string } {
  const hash = createHash('sha256').update(fs.readFileSync(requirementsFile)).digest('hex').slice(0, 12);
  const dir = path.join(cacheDir(env), 'python', `${name}-${hash}`);
  return { dir, python: path.join(dir, 'bin', 'python'), ready: path.join(dir, '.ready') };
}

/** Where the venv for the oracles' requirements lives. */
export const oracleVenv = (env: NodeJS.ProcessEnv = process.env) => cachedVenv('oracle', requirements, env);

/**
 * The Python of the venv `name` built from `requirementsFile`, creating it first when needed. A half-built venv
 * (no `.ready`) is removed and built again. With `layerOn` (another venv's python) the venv also sees that one's
 * packages (a .pth file names its site-packages): a few more packages without downloading its own again.
 */
export async function venvPython(
  name: string,
  requirementsFile: string,
  say: (line: string) => void = () => {},
  layerOn?: string,
): Promise<string> {
  const venv = cachedVenv(name, requirementsFile);
  if (fs.existsSync(venv.ready)) return venv.python;
  fs.rmSync(venv.dir, { recursive: true, force: true });
  const base = layerOn ?? process.env.PYTHON ?? 'python3';
  say(`creating the Python venv ${name} in ${venv.dir} (${base}; packages from PyPI)`);
  const sitePackages = async (python: string) =>
    (await exec(python, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'])).stdout.trim();
  try {
    await exec(base, ['-m', 'venv', venv.dir]);
    if (layerOn)
      fs.writeFileSync(path.join(await sitePackages(venv.python), 'base.pth'), `${await sitePackages(layerOn)}\n`);
    await exec(venv.python, ['-m', 'pip', 'install', '--quiet', '-r', requirementsFile], { maxBuffer: 64 << 20 });
  } catch (e) {
    const { stderr, message } = e as { stderr?: string; message: string };
    throw new Error(
      `could not build the Python venv ${name}: ${(stderr || message).trim().split('\n').slice(-5).join('\n')}`,
    );
  }
  fs.writeFileSync(venv.ready, `${new Date().toISOString()}\n`);
  say(`Python venv ${name} ready`);
  return venv.python;
}

/**
 * The Python that has the oracles installed (torch and scikit-learn: minutes to build the first time).
 * `$RATCHET_ORACLE_PYTHON` names one to use instead.
 */
export async function oraclePython(say: (line: string) => void = () => {}): Promise<string> {
  if (process.env.RATCHET_ORACLE_PYTHON) return process.env.RATCHET_ORACLE_PYTHON;
  return venvPython('oracle', requirements, say);
}

/** Runs `script` (a path) under the oracle Python and returns its stdout; a failure carries the script's stderr. */
export async function runOracle(python: string, script: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await exec(python, [script, ...args], { maxBuffer: 256 << 20 });
    return stdout;
  } catch (e) {
    const { stderr, message } = e as { stderr?: string; message: string };
    throw new Error(`${path.basename(script)} failed: ${(stderr || message).trim().split('\n').slice(-15).join('\n')}`);
  }
}
