// What /readyz asks: can this process reach each backing service right now?
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ConnectionLike } from '@temporalio/client';

/** Resolves when the dependency answers, rejects with the reason it does not. */
export type Check = () => Promise<void>;

// A probe must answer well inside a load balancer's own timeout, even when a service hangs.
const PROBE_TIMEOUT_MS = 3_000;

/** The namespace must exist, not merely the frontend answer. */
export function temporalCheck(connection: ConnectionLike, namespace: string): Check {
  return async () => {
    await connection.withDeadline(Date.now() + PROBE_TIMEOUT_MS, () =>
      connection.workflowService.describeNamespace({ namespace }),
    );
  };
}

/** The bucket must exist and the credentials must be accepted. */
export function s3Check(s3: S3Client, bucket: string): Check {
  return async () => {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  };
}

export type CheckResults = Record<string, 'ok' | { error: string }>;

export async function runChecks(checks: Record<string, Check>): Promise<CheckResults> {
  const names = Object.keys(checks);
  const outcomes = await Promise.allSettled(names.map((name) => checks[name]()));
  return Object.fromEntries(
    names.map((name, i) => {
      const outcome = outcomes[i];
      return [name, outcome.status === 'fulfilled' ? 'ok' : { error: describeError(outcome.reason) }];
    }),
  );
}

// Connection errors from Node often carry only a code (an AggregateError from happy-eyeballs has no message), and
// S3 errors for HEAD requests carry only the HTTP status.
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, $metadata } = error as Error & { code?: string; $metadata?: { httpStatusCode?: number } };
  const parts = [error.name, code, $metadata?.httpStatusCode && `HTTP ${$metadata.httpStatusCode}`, error.message];
  return [...new Set(parts.filter(Boolean))].join(': ');
}
