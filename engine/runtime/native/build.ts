// Builds the native runner (runner.c, kernels.c) once per machine into the cache, with the C compiler already on
// it. Its inputs: Node's own headers (shipped with every Node), the libonnxruntime that onnxruntime-node ships, and
// ONNX Runtime's C API headers, which no npm package carries: they come from a Go module that vendors them
// (github.com/yalue/onnxruntime_go), through the Go module proxy, pinned by the archive's sha256.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../io/cache-dir.ts';
import { openZip } from '../../io/zip.ts';

const exec = promisify(execFile);
const here = import.meta.dirname;
const SOURCES = ['runner.c', 'kernels.c', 'kernels.h'];

/** The Go module whose archive carries ORT's C headers: its C API version 31 covers what the runner asks (20). */
export const HEADERS_MODULE = {
  path: 'github.com/yalue/onnxruntime_go',
  version: 'v1.38.0',
  sha256: '189dcf728090b137da3c0828218413057094ff0f0a78d1811e64318b7fe74270',
  files: ['onnxruntime_c_api.h', 'onnxruntime_ep_c_api.h', 'onnxruntime_error_code.h'],
};

/** -march=native code is cached per CPU: a cache shared between machines must not hand one another's build over. */
const FLAGS = ['-std=c11', '-O3', '-march=native', '-ffp-contract=off', '-fno-math-errno', '-fPIC', '-shared'];

/** The directory of the libonnxruntime that onnxruntime-node loads, which the runner links and shares. */
export function ortLibraryDir(): string {
  const require = createRequire(import.meta.url);
  const root = path.dirname(require.resolve('onnxruntime-node/package.json'));
  const dir = path.join(root, 'bin', 'napi-v6', process.platform, process.arch);
  if (!fs.existsSync(path.join(dir, 'libonnxruntime.so.1'))) {
    throw new Error(`no libonnxruntime.so.1 in ${dir} (the native runner is built on Linux only)`);
  }
  return dir;
}

function nodeHeaders(): string {
  const dir = path.join(path.dirname(path.dirname(process.execPath)), 'include', 'node');
  if (!fs.existsSync(path.join(dir, 'node_api.h'))) throw new Error(`Node's headers are not in ${dir}`);
  return dir;
}

function cpuFlags(): string {
  const info = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
  return info.match(/^(flags|Features)\s*:.*$/m)?.[0] ?? process.arch;
}

/** The path the runner is built to: its name covers its sources, flags, this CPU and the ORT it links. */
export function runnerPath(env: NodeJS.ProcessEnv = process.env): string {
  const key = createHash('sha256');
  for (const file of SOURCES) key.update(fs.readFileSync(path.join(here, file)));
  key.update(FLAGS.join(' ')).update(cpuFlags()).update(fs.realpathSync(ortLibraryDir()));
  return path.join(cacheDir(env), 'native', `runner-${key.digest('hex').slice(0, 16)}`, 'ratchet_ort.node');
}

/** The three headers, from the cache or the module proxy ($GOPROXY's first URL, else proxy.golang.org). */
async function ortHeaders(env: NodeJS.ProcessEnv): Promise<string> {
  const { path: module, version, sha256, files } = HEADERS_MODULE;
  const dir = path.join(cacheDir(env), 'native', `onnxruntime-headers-${version}`);
  if (files.every((f) => fs.existsSync(path.join(dir, f)))) return dir;
  const proxy = (env.GOPROXY ?? '').split(/[,|]/).find((p) => /^https?:\/\//.test(p)) ?? 'https://proxy.golang.org';
  const url = `${proxy.replace(/\/$/, '')}/${module}/@v/${version}.zip`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ONNX Runtime's C headers: ${url} answered ${response.status}`);
  const archive = new Uint8Array(await response.arrayBuffer());
  const got = createHash('sha256').update(archive).digest('hex');
  if (got !== sha256) throw new Error(`${url}: sha256 ${got}, expected ${sha256}`);
  const zip = openZip(archive, url);
  const staging = `${dir}.${process.pid}`;
  fs.mkdirSync(staging, { recursive: true });
  for (const file of files) {
    const bytes = zip.read(`${module}@${version}/${file}`);
    if (!bytes) throw new Error(`${url} has no ${file}`);
    fs.writeFileSync(path.join(staging, file), bytes);
  }
  // Another process may have put its copy in place meanwhile (and may be compiling against it): keep that one.
  try {
    fs.renameSync(staging, dir);
  } catch {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

/** A build not used for this long is removed when another is made (each source change makes one, about 35 KB). */
export const UNUSED_BUILD_MS = 30 * 24 * 3600 * 1000;

/** Builds the runner unless built already; returns its path. `say` hears a line when a build starts. */
export async function buildRunner(say: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const target = runnerPath(env);
  if (fs.existsSync(target)) {
    // Marked used, so that another checkout's or machine's build sharing this cache does not remove it (where the
    // cache is writable: a read-only one keeps every build anyway).
    const now = new Date();
    try {
      fs.utimesSync(path.dirname(target), now, now);
    } catch {}
    return target;
  }
  const compiler = env.CC || 'cc';
  say(`building the engine's native kernels once with ${compiler} into ${path.dirname(target)}`);
  const headers = await ortHeaders(env);
  const lib = ortLibraryDir();
  // Built beside the target and renamed into place: processes building at once each finish with a whole file.
  const staging = `${target}.${process.pid}.tmp`;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const args = [
    ...FLAGS,
    '-Wall',
    '-Wno-unused-result',
    `-I${nodeHeaders()}`,
    `-I${headers}`,
    '-DNODE_GYP_MODULE_NAME=ratchet_ort',
    ...['runner.c', 'kernels.c'].map((f) => path.join(here, f)),
    '-o',
    staging,
    `-L${lib}`,
    '-l:libonnxruntime.so.1',
    `-Wl,-rpath,${lib}`,
  ];
  try {
    await exec(compiler, args, { env });
  } catch (e) {
    fs.rmSync(staging, { force: true });
    const { stderr, code } = e as { stderr?: string; code?: number | string };
    // The compiler's own words when it gave any; Node's message would repeat the whole command line.
    const why = stderr?.trim()
      ? stderr.trim().split('\n').slice(0, 8).join('\n')
      : code === 'ENOENT'
        ? 'not found (set CC to a C compiler)'
        : `exit status ${code}`;
    throw new Error(`${compiler} failed: ${why}`);
  }
  fs.renameSync(staging, target);
  removeUnusedBuilds(path.dirname(path.dirname(target)), path.basename(path.dirname(target)));
  return target;
}

/** The other `runner-*` builds in `dir` not used for UNUSED_BUILD_MS. */
function removeUnusedBuilds(dir: string, keep: string): void {
  for (const name of fs.readdirSync(dir)) {
    const build = path.join(dir, name);
    if (!name.startsWith('runner-') || name === keep) continue;
    if (Date.now() - fs.statSync(build).mtimeMs > UNUSED_BUILD_MS) fs.rmSync(build, { recursive: true, force: true });
  }
}
