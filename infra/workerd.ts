// The edge entry (api/edge.ts) in workerd, Cloudflare's Workers runtime, run here as a local process: esbuild bundles
// the entry's `export default { fetch }` into one ES module, a generated capnp config declares the worker, its
// bindings and its network, and the `workerd` binary (the npm package's platform dependency, nothing downloaded at
// run time, no wrangler) serves it on 127.0.0.1. The same bundle deploys to Cloudflare Workers (docs/OPERATIONS.md).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { loadConfigOrReport, type Config } from './config.ts';
import { freePort } from './ports.ts';
import { describeExit, startProcess, tail, type ManagedProcess } from './process.ts';

/**
 * The Workers behaviour the bundle is built and tested against; a newer workerd keeps honouring it. From this date
 * on, `nodejs_compat` (node:crypto, node:zlib, ... as the AWS SDK and the engine's modules import them) is on by
 * default: workerd 1.20261123.1 warns that the flag "became the default as of 2026-08-04" when it is also given.
 */
export const EDGE_COMPATIBILITY_DATE = '2026-11-23';

/** The bindings api/edge.ts reads from `env`; a binding is declared only where the environment sets it. */
export const edgeBindingNames = [
  'TEMPORAL_HTTP_URL',
  'TEMPORAL_NAMESPACE',
  'RATCHET_QUEUE_PREFIX',
  'S3_ENDPOINT',
  'S3_BUCKET',
  'S3_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'RATCHET_BOOTSTRAP_ADMIN_KEY',
] as const;
export type EdgeBindings = Partial<Record<(typeof edgeBindingNames)[number], string>>;

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = path.join(root, 'api/edge.ts');
const consoleDir = path.join(root, 'api/console');

/** The workerd binary of the installed `workerd` package (from @cloudflare/workerd-<platform>; no install script). */
export function workerdBinary(): string {
  const workerd = createRequire(import.meta.url)('workerd') as { default: string; version: string };
  return workerd.default;
}

/**
 * The console's page and scripts, read from disk at module load on Node (api/console/routes.ts), are inlined: its
 * `node:fs` becomes a module that answers `readFileSync` for those files only. A worker has no file system to
 * read them from, and one module is all that is deployed.
 */
const consoleAssets: Plugin = {
  name: 'console-assets',
  setup(build) {
    build.onResolve({ filter: /^node:fs$/ }, (args) =>
      args.importer === path.join(consoleDir, 'routes.ts') ? { path: 'console-assets', namespace: 'edge' } : undefined,
    );
    build.onLoad({ filter: /^console-assets$/, namespace: 'edge' }, () => {
      const assets = Object.fromEntries(
        fs
          .readdirSync(consoleDir)
          .filter((name) => name !== 'routes.ts')
          .map((name) => [name, fs.readFileSync(path.join(consoleDir, name), 'utf8')]),
      );
      const contents = [
        `const assets = ${JSON.stringify(assets)};`,
        'export function readFileSync(url) {',
        "  const name = String(url).split('/').pop();",
        '  if (!Object.hasOwn(assets, name)) throw new Error(`not bundled: ${name}`);',
        '  return assets[name];',
        '}',
      ].join('\n');
      return { contents, loader: 'js' };
    });
  },
};

/**
 * The AWS SDK's XML parser for responses (S3 errors, listings): its browser build parses with DOMParser, which
 * workerd lacks ("ReferenceError: DOMParser is not defined", aws/aws-sdk-js-v3#7375, cloudflare/workers-sdk#10755);
 * its other build is plain JavaScript with no Node API, and is the one bundled.
 */
const xmlParser: Plugin = {
  name: 'aws-xml-parser',
  setup(build) {
    build.onResolve({ filter: /^\.\/xml-parser$/ }, (args) =>
      /[\\/]@aws-sdk[\\/]xml-builder[\\/]dist-es$/.test(args.resolveDir)
        ? { path: path.join(args.resolveDir, 'xml-parser.js') }
        : undefined,
    );
  },
};

/** Bundles api/edge.ts into the one ES module `outFile`; returns its size in bytes. */
export async function bundleEdge(outFile: string): Promise<number> {
  const result = await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    // The runtime's own: provided by workerd under nodejs_compat, never bundled.
    external: ['node:*'],
    // Packages' worker builds first (the AWS SDK's fetch-based ones), then their browser builds.
    conditions: ['workerd', 'worker', 'browser'],
    plugins: [consoleAssets, xmlParser],
    metafile: true,
    logLevel: 'warning',
    legalComments: 'none',
  });
  return Object.values(result.metafile.outputs)[0]!.bytes;
}

const capnpString = (value: string) => JSON.stringify(value);

/**
 * workerd's config: the module, its compatibility, one binding per name (its value read from workerd's own
 * environment, so no secret is written to disk), an HTTP socket on 127.0.0.1:port, and the network that the
 * worker's fetch() goes through. workerd's default network reaches public addresses only; Temporal and S3 on this
 * machine or a private network need "private" and "local" too.
 */
export function workerdConfig(options: { module: string; port: number; bindings: readonly string[] }): string {
  const bindings = options.bindings.map(
    (name) => `(name = ${capnpString(name)}, fromEnvironment = ${capnpString(name)})`,
  );
  return `# Generated by infra/workerd.ts.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "edge", worker = .edge),
    (name = "network", network = (allow = ["public", "private", "local"], tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [(name = "http", address = ${capnpString(`127.0.0.1:${options.port}`)}, http = (), service = "edge")],
);

const edge :Workerd.Worker = (
  modules = [(name = "edge.mjs", esModule = embed ${capnpString(path.basename(options.module))})],
  compatibilityDate = ${capnpString(EDGE_COMPATIBILITY_DATE)},
  bindings = [
    ${bindings.join(',\n    ')}
  ],
  globalOutbound = "network",
);
`;
}

export type EdgeServer = {
  url: string;
  process: ManagedProcess;
  /** The bundle's size in bytes. */
  bundleBytes: number;
  /** Stops workerd and removes its directory (unless the caller gave one). */
  stop(): Promise<void>;
};

/**
 * Bundles the edge entry and serves it with workerd on 127.0.0.1:`port` (a free one by default), `bindings` as the
 * worker's env. workerd's output goes to `<dir>/workerd.log`. The process is killed when this one exits.
 */
export async function startEdge(options: { bindings: EdgeBindings; port?: number; dir?: string }): Promise<EdgeServer> {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ratchet-workerd-'));
  fs.mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const module = path.join(dir, 'edge.mjs');
  const bundleBytes = await bundleEdge(module);
  const set = edgeBindingNames.filter((name) => options.bindings[name] !== undefined);
  const config = path.join(dir, 'workerd.capnp');
  fs.writeFileSync(config, workerdConfig({ module, port, bindings: set }));
  const env = Object.fromEntries(set.map((name) => [name, options.bindings[name]!]));
  const child = await startProcess({
    name: 'workerd',
    command: workerdBinary(),
    args: ['serve', config],
    env,
    logFile: path.join(dir, 'workerd.log'),
    port,
  });
  const stop = async () => {
    await child.stop();
    if (!options.dir) fs.rmSync(dir, { recursive: true, force: true });
  };
  return { url: `http://127.0.0.1:${port}`, process: child, bundleBytes, stop };
}

/**
 * The bindings for `ratchet edge` from the configuration (infra/config.ts): by default the servers of a
 * `ratchet dev` on this machine (its Temporal HTTP port and S3 server), as `ratchet worker` joins them.
 * TEMPORAL_HTTP_URL and RATCHET_QUEUE_PREFIX are the edge's own variables.
 */
export function edgeBindingsFrom(config: Config, env: NodeJS.ProcessEnv = process.env): EdgeBindings {
  const { temporal, s3 } = config;
  return {
    TEMPORAL_HTTP_URL: env.TEMPORAL_HTTP_URL || `http://127.0.0.1:${temporal.localPorts.http}`,
    TEMPORAL_NAMESPACE: temporal.namespace,
    RATCHET_QUEUE_PREFIX: env.RATCHET_QUEUE_PREFIX || undefined,
    S3_ENDPOINT: s3.endpoint ?? `http://127.0.0.1:${s3.localPort}`,
    S3_BUCKET: s3.bucket,
    S3_REGION: s3.region,
    AWS_ACCESS_KEY_ID: s3.credentials?.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials?.secretAccessKey,
    RATCHET_BOOTSTRAP_ADMIN_KEY: config.bootstrapAdminKey,
  };
}

const edgeUsage =
  'usage: ratchet edge [--port N]     serve it in workerd (default port 8787; configured by the environment)\n' +
  '       ratchet edge --bundle FILE  write the bundle only, e.g. for wrangler deploy (docs/OPERATIONS.md)';

/**
 * `ratchet edge [--port N]`: the edge entry in workerd until SIGINT/SIGTERM, its files under <data dir>/edge/.
 * `ratchet edge --bundle FILE`: the bundle alone.
 */
export async function run(args: string[]): Promise<number> {
  const [flag, value, ...rest] = args;
  if (flag === '--bundle' && value && rest.length === 0) {
    const bytes = await bundleEdge(path.resolve(value));
    console.log(`edge: wrote ${value} (${bytes} bytes; compatibility date ${EDGE_COMPATIBILITY_DATE})`);
    return 0;
  }
  const port = flag === undefined ? 8787 : flag === '--port' && /^\d{1,5}$/.test(value ?? '') ? Number(value) : NaN;
  if (!(port >= 1 && port <= 65535) || rest.length > 0) {
    console.error(edgeUsage);
    return 2;
  }
  const config = loadConfigOrReport('edge');
  if (!config) return 2;
  if (config.temporal.address && !process.env.TEMPORAL_HTTP_URL) {
    console.error('edge: TEMPORAL_ADDRESS is set but TEMPORAL_HTTP_URL is not: the edge reaches Temporal over HTTP');
    return 2;
  }
  const dir = path.join(config.dataDir, 'edge');
  const edge = await startEdge({ bindings: edgeBindingsFrom(config), port, dir });
  console.log(
    `edge: workerd serves ${edge.url} (bundle ${dir}/edge.mjs, ${edge.bundleBytes} bytes; log ${dir}/workerd.log)`,
  );
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => resolve(signal));
  });
  const ended = await Promise.race([stopped, edge.process.exited]);
  if (typeof ended === 'string') {
    await edge.stop();
    return 0;
  }
  console.error(
    `edge: workerd exited (${describeExit(ended)}). Last lines of ${edge.process.logFile}:\n${tail(edge.process.logFile)}`,
  );
  return 1;
}
