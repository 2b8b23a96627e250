// `ratchet provision`: makes sure the two server binaries the stack runs exist, each at a pinned version;
// `ratchet provision helm` does the same for Helm, which renders and checks the cluster chart (deploy/helm);
// `ratchet provision --cluster` for the Temporal server and its SQL schema tool, which `ratchet dev --cluster` runs.
// `ratchet provision` also builds the engine's native runner, which training otherwise builds on first use.
// Order: a matching binary on PATH, then the cache, then `go install` into the cache. None of them ships on a
// registry the project can install from, and Go's module proxy is reachable where GitHub releases are not.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../engine/io/cache-dir.ts';
import { buildRunner } from '../engine/runtime/native/build.ts';

const exec = promisify(execFile);

export type ServerBinary = {
  name: string;
  version: string;
  /** What `go install` builds, without the @version; the file it writes is named after the last element. */
  goPackage: string;
  /** The oldest Go that builds it (its go.mod's go line); 1.25 when not given. */
  minGo?: string;
  /** A newer Go than the installed one, which `go` fetches from the module proxy (GOTOOLCHAIN). */
  goToolchain?: string;
};

// Temporal CLI releases after 1.5.1 carry a `replace` directive in go.mod, which `go install pkg@version` refuses.
export const temporalCli: ServerBinary = {
  name: 'temporal',
  version: '1.5.1',
  goPackage: 'github.com/temporalio/cli/cmd/temporal',
};

export const versityGateway: ServerBinary = {
  name: 'versitygw',
  version: '1.7.0',
  goPackage: 'github.com/versity/versitygw/cmd/versitygw',
};

// Helm 4 builds with `go install` (its go.mod has no replace directive).
export const helm: ServerBinary = {
  name: 'helm',
  version: '4.3.2',
  goPackage: 'helm.sh/helm/v4/cmd/helm',
  minGo: '1.26',
};

// The server module needs Go >= 1.26.10 and has no `replace` directive, so `go install` builds it as published.
// Its schema tool carries the PostgreSQL schemas embedded, so the stack needs no copy of the module's schema/ dir.
const temporalServerModule = { version: '1.32.2', minGo: '1.26.10', goToolchain: 'go1.27.3' };

export const temporalServer: ServerBinary = {
  name: 'temporal-server',
  goPackage: 'go.temporal.io/server/cmd/server',
  ...temporalServerModule,
};

export const temporalSqlTool: ServerBinary = {
  name: 'temporal-sql-tool',
  goPackage: 'go.temporal.io/server/cmd/tools/sql',
  ...temporalServerModule,
};

export type Binaries = { temporal: string; versitygw: string };
export type ClusterBinaries = { server: string; sqlTool: string };

export { cacheDir };

export function cachedPath(binary: ServerBinary, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheDir(env), 'bin', `${binary.name}-${binary.version}`, path.posix.basename(binary.goPackage));
}

/** The path of a usable binary at the pinned version, or undefined when there is none yet. */
export async function locate(binary: ServerBinary, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const onPath = findOnPath(binary.name, env.PATH ?? '');
  // Release builds print their version; a `go install` build prints 0.0.0-DEV or "git", so it is trusted only
  // in the cache, whose directory names the version it was built from.
  if (onPath && versionPattern(binary).test(await reportedVersion(onPath))) return onPath;
  const cached = cachedPath(binary, env);
  return isExecutable(cached) ? cached : undefined;
}

/** Locates the binary or builds it; `say` hears every step, since a build takes minutes. */
export async function ensure(
  binary: ServerBinary,
  say: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const found = await locate(binary, env);
  if (found) {
    say(`${binary.name} ${binary.version}: ${found}`);
    return found;
  }
  const target = cachedPath(binary, env);
  const go = findOnPath('go', env.PATH ?? '');
  if (!go) {
    throw new Error(
      `${binary.name} ${binary.version} is not on PATH or in ${path.dirname(target)}, and Go is not installed to build it.\n` +
        `Install Go ${binary.minGo ?? '1.25'} or newer (https://go.dev/doc/install) and run \`npx ratchet provision\` again, or put ` +
        `${binary.name} ${binary.version} on PATH.`,
    );
  }
  const spec = `${binary.goPackage}@v${binary.version}`;
  say(
    `${binary.name} ${binary.version} is not on PATH or in the cache: building it once with \`go install ${spec}\` ` +
      `into ${path.dirname(target)} (takes minutes; later starts reuse it)`,
  );
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
  const ticker = setInterval(() => say(`${binary.name} ${binary.version}: still building (${elapsed()})`), 30_000);
  const goEnv = binary.goToolchain ? { ...env, GOTOOLCHAIN: binary.goToolchain } : env;
  await goInstall(go, spec, path.dirname(target), goEnv).finally(() => clearInterval(ticker));
  if (!isExecutable(target)) throw new Error(`go install ${spec} finished but ${target} is missing`);
  say(`${binary.name} ${binary.version}: built in ${elapsed()}: ${target}`);
  return target;
}

export async function ensureAll(say: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<Binaries> {
  return {
    temporal: await ensure(temporalCli, say, env),
    versitygw: await ensure(versityGateway, say, env),
  };
}

/** Built only for the cluster profile: the server takes minutes to build from cold. */
export async function ensureCluster(
  say: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ClusterBinaries> {
  return { server: await ensure(temporalServer, say, env), sqlTool: await ensure(temporalSqlTool, say, env) };
}

export async function run(args: string[]): Promise<number> {
  const wantsHelm = args.length === 1 && args[0] === 'helm';
  const wantsCluster = args.length === 1 && args[0] === '--cluster';
  if (args.length > 0 && !wantsHelm && !wantsCluster) {
    console.error(
      `usage: ratchet provision [helm | --cluster]   (--cluster: also the Temporal server and its SQL tool; the ` +
        `cache is $RATCHET_CACHE_DIR or ${cacheDir()})`,
    );
    return 2;
  }
  const say = (line: string) => console.log(`provision: ${line}`);
  try {
    if (wantsHelm) await ensure(helm, say);
    else await Promise.all([ensureAll(say), ensureNativeRunner(say)]);
    if (wantsCluster) await ensureCluster(say);
    return 0;
  } catch (error) {
    console.error(`provision: ${(error as Error).message}`);
    return 1;
  }
}

/** The engine's native runner (engine/runtime/native): optional, so a failure is said, not fatal. */
async function ensureNativeRunner(say: (line: string) => void): Promise<void> {
  try {
    say(`native kernels: ${await buildRunner(say)}`);
  } catch (error) {
    say(
      `native kernels unavailable (${(error as Error).message}); training will use ONNX ops only (the same weights, slower steps)`,
    );
  }
}

function goInstall(go: string, spec: string, gobin: string, env: NodeJS.ProcessEnv): Promise<void> {
  fs.mkdirSync(gobin, { recursive: true });
  return new Promise((resolve, reject) => {
    // Go's own progress ("go: downloading ...") goes to stderr, which the user sees as it happens.
    const child = spawn(go, ['install', spec], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...env, GOBIN: gobin },
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`go install ${spec} failed (${signal ?? `exit code ${code}`})`)),
    );
  });
}

function findOnPath(name: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function versionPattern(binary: ServerBinary): RegExp {
  return new RegExp(`(^|[^\\d.])v?${binary.version.replaceAll('.', '\\.')}($|[^\\d.])`);
}

async function reportedVersion(file: string): Promise<string> {
  try {
    const { stdout } = await exec(file, ['--version'], { timeout: 10_000 });
    return stdout;
  } catch {
    return '';
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
