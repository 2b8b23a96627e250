// Temporal's HTTP API (the frontend's JSON mapping of its gRPC service, served on the dev server's --http-port) with
// nothing but fetch: one call under a namespace, its errors, and payloads as the SDKs' default data converter writes
// them. The transport of ./http.ts.
import { fromBase64, toBase64 } from './base64.ts';

export type TemporalHttp = {
  /** The HTTP API's origin, e.g. http://127.0.0.1:7243 */
  url: string;
  namespace: string;
};

// Every call not given a timeout of its own; an update included, which a polling worker completes in milliseconds.
const CALL_TIMEOUT_MS = 10_000;

/** A failed call: the HTTP status and the gRPC status code and message from its JSON body. */
export class TemporalHttpError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number | undefined,
    message: string,
  ) {
    super(`Temporal HTTP API: ${httpStatus}: ${message}`);
    this.name = 'TemporalHttpError';
  }
}

// gRPC status codes, as the HTTP API's error bodies carry them.
export const INVALID_ARGUMENT = 3;
export const DEADLINE_EXCEEDED = 4;
export const NOT_FOUND = 5;
export const ALREADY_EXISTS = 6;

/** Whether `error` is a failed call with the gRPC status `code`. */
export function isStatus(error: unknown, code: number): error is TemporalHttpError {
  return error instanceof TemporalHttpError && error.code === code;
}

/**
 * One call under /api/v1/namespaces/{namespace}; `timeoutMs` also bounds the server's wait (for a worker, or a
 * long poll's for a new event); `signal` gives the call up.
 */
export async function temporalCall<T = unknown>(
  temporal: TemporalHttp,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: object,
  timeoutMs = CALL_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<T> {
  const timeout = AbortSignal.timeout(timeoutMs + 1_000);
  const { url, namespace } = temporal;
  const response = await fetch(`${url}/api/v1/namespaces/${encodeURIComponent(namespace)}${path}`, {
    method,
    headers: {
      // Payloads as the SDKs write them (base64 JSON), both ways: the API's default "shorthand" writes a payload as
      // the JSON value it holds, and in that conversion an empty array comes back as null.
      'content-type': PAYLOADS_IN_FULL,
      accept: PAYLOADS_IN_FULL,
      // Read by the server's gRPC gateway as the call's deadline (gRPC's timeout notation: m = milliseconds).
      'grpc-timeout': `${timeoutMs}m`,
    },
    body: body && JSON.stringify(body),
    signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
  });
  const text = await response.text();
  const json = parseJson(text);
  if (!response.ok) {
    const { code, message } = (json ?? {}) as { code?: number; message?: string };
    throw new TemporalHttpError(response.status, code, message ?? text.slice(0, 200));
  }
  if (json === undefined) throw new TemporalHttpError(response.status, undefined, `not JSON: ${text.slice(0, 200)}`);
  return json as T;
}

const PAYLOADS_IN_FULL = 'application/json+no-payload-shorthand';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A value as a json/plain payload, as the SDKs' default data converter writes it. */
export function payload(value: unknown): EncodedPayload {
  return { metadata: { encoding: encodeBase64('json/plain') }, data: encodeBase64(JSON.stringify(value)) };
}

type EncodedPayload = { metadata?: { encoding?: string }; data?: string };

export function payloadValue(payload: unknown): unknown {
  if (payload === undefined) return undefined;
  const { metadata, data } = payload as EncodedPayload;
  const encoding = decodeBase64(metadata?.encoding ?? '');
  if (encoding === 'binary/null') return undefined;
  if (encoding !== 'json/plain') throw new Error(`Temporal HTTP API: a payload in '${encoding}', expected json/plain`);
  return JSON.parse(decodeBase64(data ?? ''));
}

/** The values of a Payloads message (`{payloads: [...]}`). */
export function payloadList(payloads: unknown): unknown[] {
  return ((payloads as { payloads?: unknown[] } | undefined)?.payloads ?? []).map(payloadValue);
}

function encodeBase64(text: string): string {
  return toBase64(new TextEncoder().encode(text));
}

function decodeBase64(text: string): string {
  return new TextDecoder().decode(fromBase64(text));
}
