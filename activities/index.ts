// Every activity the workers register. Activities are built from their dependencies (not module globals) so that
// a test can hand them a client for the harness's S3 server and the dev stack one for its own.
import type { S3Client } from '@aws-sdk/client-s3';

export type ActivityDeps = { s3: S3Client; bucket: string };

export function createActivities(_deps: ActivityDeps) {
  return {};
}

export type Activities = ReturnType<typeof createActivities>;
