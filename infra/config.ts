// The one place that reads the environment. Everything else receives a typed Config, so a bad variable is
// reported once, by name, before anything starts.
import path from 'node:path';
import { z } from 'zod';
import { MIN_BOOTSTRAP_KEY_LENGTH } from '../api/auth/keys.ts';
import { DEFAULT_RATE_LIMIT, type RateLimit } from '../api/http/rate-limit.ts';
import { DEFAULT_STATUS_MAX_AGE_MS } from '../api/temporal/jobs.ts';

// The local S3 server started by the dev stack always uses these, so AWS keys in a developer's shell never reach
// it; AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY apply to an external S3_ENDPOINT only.
const LOCAL_S3_ACCESS_KEY = 'ratchet-dev';
const LOCAL_S3_SECRET_KEY = 'ratchet-dev-secret';

// 0: any free port, chosen at start (the API binds it; the dev stack's servers get one picked, see infra/ports.ts).
const portNumber = z.coerce
  .number({ error: 'expected a port number' })
  .int('expected a whole port number')
  .min(0, 'expected a port between 0 (any free one) and 65535')
  .max(65535, 'expected a port between 0 (any free one) and 65535');
const port = (fallback: number) => portNumber.default(fallback);

const listenHost = z
  .string()
  .trim()
  .regex(/^[\w.:-]+$/, 'expected an address to listen on, such as 127.0.0.1 or 0.0.0.0')
  .default('127.0.0.1');

const optionalText = z
  .string()
  .trim()
  .transform((value) => value || undefined)
  .optional();

const url = z
  .string()
  .trim()
  .transform((value) => value || undefined)
  .pipe(z.url({ error: 'expected a URL such as http://127.0.0.1:7070' }).optional())
  .optional();

// host:port, as the Temporal SDK expects it (no scheme).
const hostPort = z
  .string()
  .trim()
  .transform((value) => value || undefined)
  .pipe(
    z
      .string()
      .regex(/^[^\s/:]+:\d{1,5}$/, 'expected host:port such as 127.0.0.1:7233 (no scheme)')
      .optional(),
  )
  .optional();

const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
    .transform((value) => value === 'true' || value === '1')
    .prefault(fallback ? 'true' : 'false');

// `cpu` runs everything but training; `gpu` runs training, on a GPU where there is one (on CPU otherwise);
// `ledger` runs the tenants' ledger writers (core/ledger/writer.ts), and a `cpu` worker always polls it as well.
export const taskQueueNames = ['cpu', 'gpu', 'ledger'] as const;
export type TaskQueueName = (typeof taskQueueNames)[number];

const taskQueueList = z
  .string()
  .transform((value) => [...new Set(value.split(',').map((name) => name.trim()))].filter(Boolean))
  .pipe(
    z
      .array(z.enum(taskQueueNames, { error: 'expected a comma-separated list of cpu, gpu, ledger' }))
      .min(1, 'expected at least one of cpu, gpu, ledger'),
  )
  .prefault('cpu,gpu');

const envSchema = z.object({
  RATCHET_DATA_DIR: z.string().trim().min(1, 'must not be empty').default('.ratchet'),
  RATCHET_API_HOST: listenHost,
  RATCHET_API_PORT: port(8080),
  RATCHET_BOOTSTRAP_ADMIN_KEY: z
    .string()
    .trim()
    .transform((value) => value || undefined)
    .pipe(
      z.string().min(MIN_BOOTSTRAP_KEY_LENGTH, `must be at least ${MIN_BOOTSTRAP_KEY_LENGTH} characters`).optional(),
    )
    .optional(),
  RATCHET_API_RATE: z.coerce
    .number({ error: 'expected requests per second per API key' })
    .positive('expected a positive number of requests per second')
    .default(DEFAULT_RATE_LIMIT.perSecond),
  RATCHET_API_BURST: z.coerce
    .number({ error: 'expected a number of requests' })
    .int('expected a whole number of requests')
    .min(1, 'expected at least 1 request')
    .default(DEFAULT_RATE_LIMIT.burst),
  RATCHET_JOB_STATUS_MAX_AGE_MS: z.coerce
    .number({ error: 'expected milliseconds' })
    .int('expected a whole number of milliseconds')
    .min(0, 'expected 0 (read for each request) or more milliseconds')
    .default(DEFAULT_STATUS_MAX_AGE_MS),
  RATCHET_TEMPORAL_PORT: port(7233),
  RATCHET_TEMPORAL_UI_PORT: port(8233),
  RATCHET_TEMPORAL_HTTP_PORT: port(7243),
  RATCHET_S3_PORT: port(7070),
  RATCHET_DEV_RESTARTS: z.coerce
    .number({ error: 'expected a number of restarts' })
    .int('expected a whole number of restarts')
    .min(0, 'expected 0 (never restart) or more')
    .default(3),
  TEMPORAL_ADDRESS: hostPort,
  TEMPORAL_NAMESPACE: z.string().trim().min(1, 'must not be empty').default('default'),
  // Temporal's own client environment variables (the CLI and the SDKs' environment configuration read the same
  // names), so one Secret mounted as files serves Ratchet and the `temporal` CLI alike.
  TEMPORAL_TLS: z
    .enum(['true', 'false', '1', '0', ''], { error: 'expected true or false' })
    .transform((value) => (value === '' ? undefined : value === 'true' || value === '1'))
    .optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: optionalText,
  TEMPORAL_TLS_CLIENT_KEY_PATH: optionalText,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optionalText,
  TEMPORAL_TLS_SERVER_NAME: optionalText,
  RATCHET_TASK_QUEUES: taskQueueList,
  S3_ENDPOINT: url,
  S3_BUCKET: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name (3-63 of a-z, 0-9, ".", "-")')
    .default('ratchet'),
  S3_REGION: optionalText,
  AWS_REGION: optionalText,
  S3_FORCE_PATH_STYLE: boolean(true),
  AWS_ACCESS_KEY_ID: optionalText,
  AWS_SECRET_ACCESS_KEY: optionalText,
  // OpenTelemetry's own variables, as its SDKs read them: the traces endpoint as given, or the base endpoint with
  // /v1/traces appended. Neither set, or OTEL_SDK_DISABLED: no tracing, and the SDK is never loaded.
  OTEL_EXPORTER_OTLP_ENDPOINT: url,
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url,
  OTEL_SDK_DISABLED: boolean(false),
  RATCHET_METRICS_PORT: z.preprocess(
    (value) => (typeof value === 'string' && !value.trim() ? undefined : value),
    portNumber.optional(),
  ),
  RATCHET_METRICS_HOST: listenHost,
});

/** Every variable the stack reads (deployment manifests set only these). */
export const configVariableNames = Object.keys(envSchema.shape);

// Validated, but their values never appear in a message.
const secretVariables = new Set(['RATCHET_BOOTSTRAP_ADMIN_KEY']);

export type S3Credentials = { accessKeyId: string; secretAccessKey: string };

/** Files of PEM text, read when a connection is made (infra/temporal-connection.ts); absent ones are not used. */
export type TemporalTls = {
  clientCertPath?: string;
  clientKeyPath?: string;
  serverCaCertPath?: string;
  /** SNI and the name the server's certificate must carry, when it differs from TEMPORAL_ADDRESS's host. */
  serverName?: string;
};

export type Config = {
  /** Absolute; holds the local servers' data and the children's logs. */
  dataDir: string;
  /** The API listens here: loopback unless the operator opens it up. */
  apiHost: string;
  apiPort: number;
  /** Becomes tenant `default`'s admin API key the first time the API starts on empty storage. */
  bootstrapAdminKey: string | undefined;
  /** Per API key and API process: a token bucket of `burst` requests refilled at `perSecond`. */
  apiRateLimit: RateLimit;
  /** How old a job's status may be when the API serves it (api/temporal/jobs.ts). */
  jobStatusMaxAgeMs: number;
  /** How often `ratchet dev` restarts a server of its own that died, within 10 minutes; 0: the stack stops. */
  devRestarts: number;
  temporal: {
    /** host:port of an external cluster; undefined means the dev stack starts a local dev server. */
    address: string | undefined;
    namespace: string;
    /** TLS (mutual when a client certificate is given) to an external cluster; undefined: plaintext. */
    tls: TemporalTls | undefined;
    /** The queues this process's workers poll. */
    taskQueues: TaskQueueName[];
    localPorts: { grpc: number; ui: number; http: number };
  };
  s3: {
    /** An external S3 endpoint; undefined means the dev stack starts a local server. */
    endpoint: string | undefined;
    bucket: string;
    region: string;
    forcePathStyle: boolean;
    /** Undefined with an external endpoint and no AWS_* keys: the SDK's default credential chain applies. */
    credentials: S3Credentials | undefined;
    localPort: number;
  };
  telemetry: {
    /** Where spans go (OTLP over HTTP); undefined: tracing off. */
    tracesUrl: string | undefined;
    /** `ratchet worker` serves its pipeline metrics on this port when set (0: any free one); off otherwise. */
    metricsPort: number | undefined;
    metricsHost: string;
  };
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const shown = secretVariables.has(name) ? '' : ` (got ${JSON.stringify(env[name])})`;
      return `  ${name}: ${issue.message}${shown}`;
    });
    throw new ConfigError(`invalid configuration:\n${problems.join('\n')}`);
  }
  const e = parsed.data;
  if (Boolean(e.AWS_ACCESS_KEY_ID) !== Boolean(e.AWS_SECRET_ACCESS_KEY)) {
    throw new ConfigError('invalid configuration: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither');
  }
  const tls = temporalTls(e, cwd);
  const externalCredentials = e.AWS_ACCESS_KEY_ID
    ? { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY! }
    : undefined;
  return {
    dataDir: path.resolve(cwd, e.RATCHET_DATA_DIR),
    apiHost: e.RATCHET_API_HOST,
    apiPort: e.RATCHET_API_PORT,
    bootstrapAdminKey: e.RATCHET_BOOTSTRAP_ADMIN_KEY,
    apiRateLimit: { perSecond: e.RATCHET_API_RATE, burst: e.RATCHET_API_BURST },
    jobStatusMaxAgeMs: e.RATCHET_JOB_STATUS_MAX_AGE_MS,
    devRestarts: e.RATCHET_DEV_RESTARTS,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      tls,
      taskQueues: e.RATCHET_TASK_QUEUES,
      localPorts: { grpc: e.RATCHET_TEMPORAL_PORT, ui: e.RATCHET_TEMPORAL_UI_PORT, http: e.RATCHET_TEMPORAL_HTTP_PORT },
    },
    s3: {
      endpoint: e.S3_ENDPOINT,
      bucket: e.S3_BUCKET,
      region: e.S3_REGION ?? e.AWS_REGION ?? 'us-east-1',
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
      credentials: e.S3_ENDPOINT
        ? externalCredentials
        : { accessKeyId: LOCAL_S3_ACCESS_KEY, secretAccessKey: LOCAL_S3_SECRET_KEY },
      localPort: e.RATCHET_S3_PORT,
    },
    telemetry: {
      tracesUrl: e.OTEL_SDK_DISABLED
        ? undefined
        : tracesUrl(e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, e.OTEL_EXPORTER_OTLP_ENDPOINT),
      metricsPort: e.RATCHET_METRICS_PORT,
      metricsHost: e.RATCHET_METRICS_HOST,
    },
  };
}

/** The traces endpoint as OpenTelemetry's specification derives it from the two variables. */
function tracesUrl(traces: string | undefined, base: string | undefined): string | undefined {
  if (traces) return traces;
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined;
}

/**
 * TLS is on when TEMPORAL_TLS says so or any certificate or server name is given (as Temporal's clients decide).
 * Contradictions stop the start: half a client pair, or certificates with TLS turned off, or TLS to the local dev
 * server, which speaks plaintext.
 */
function temporalTls(e: z.infer<typeof envSchema>, cwd: string): TemporalTls | undefined {
  const file = (value: string | undefined) => value && path.resolve(cwd, value);
  const settings: TemporalTls = {
    clientCertPath: file(e.TEMPORAL_TLS_CLIENT_CERT_PATH),
    clientKeyPath: file(e.TEMPORAL_TLS_CLIENT_KEY_PATH),
    serverCaCertPath: file(e.TEMPORAL_TLS_SERVER_CA_CERT_PATH),
    serverName: e.TEMPORAL_TLS_SERVER_NAME,
  };
  const given = Object.values(settings).some(Boolean);
  if (e.TEMPORAL_TLS === false) {
    if (given)
      throw new ConfigError('invalid configuration: TEMPORAL_TLS is false but TEMPORAL_TLS_* settings are given');
    return undefined;
  }
  if (!given && !e.TEMPORAL_TLS) return undefined;
  if (Boolean(settings.clientCertPath) !== Boolean(settings.clientKeyPath)) {
    throw new ConfigError(
      'invalid configuration: set both TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or neither',
    );
  }
  if (!e.TEMPORAL_ADDRESS) {
    throw new ConfigError(
      'invalid configuration: TEMPORAL_TLS* apply to an external cluster (TEMPORAL_ADDRESS); the local dev server speaks plaintext',
    );
  }
  return settings;
}

/** For a command configured by the environment alone: false, once its usage is printed, when given arguments. */
export function takesNoArguments(command: string, args: string[]): boolean {
  if (args.length === 0) return true;
  console.error(`usage: ratchet ${command}   (configured by the environment; see docs/OPERATIONS.md)`);
  return false;
}

/** For commands: the config, or undefined once the problem has been printed (the command then exits 2). */
export function loadConfigOrReport(command: string): Config | undefined {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${command}: ${error.message}`);
    return undefined;
  }
}
