// Every activity the workers register. Activities are built from their dependencies (not module globals) so that
// a test can hand them a client for the harness's S3 server and the dev stack one for its own.
import type { S3Client } from '@aws-sdk/client-s3';
import { ObjectStore } from './object-store.ts';
import { createValidateDataset } from './validate-dataset.ts';

export type ActivityDeps = { s3: S3Client; bucket: string };

export function createActivities(deps: ActivityDeps) {
  const store = new ObjectStore(deps.s3, deps.bucket);
  return {
    validateDataset: createValidateDataset(store),
  };
}

export type Activities = ReturnType<typeof createActivities>;
