// An S3 request that failed because the store did not answer (a timeout, a refused or reset connection, or the
// server's own 5xx), as against one the store answered and refused: the former is a 503 the client may retry.
import { S3ServiceException } from '@aws-sdk/client-s3';

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export function storageUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof S3ServiceException) return (error.$metadata.httpStatusCode ?? 0) >= 500;
  // The SDK's timeouts (infra/s3-client.ts) are named so; a connection that failed carries Node's code, on the
  // error or (happy-eyeballs' AggregateError) on the errors inside it.
  if (error.name === 'TimeoutError') return true;
  const codes = [error, ...((error as Partial<AggregateError>).errors ?? [])].map((e) => (e as { code?: string }).code);
  return codes.some((code) => code !== undefined && NETWORK_CODES.has(code));
}
