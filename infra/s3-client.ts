import { CreateBucketCommand, HeadBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';

export type S3Settings = Pick<Config['s3'], 'region' | 'forcePathStyle' | 'credentials'> & {
  endpoint: string | undefined;
};

/**
 * How long a request may wait on S3 before it gives up. Without a bound, a server that accepts connections and
 * never answers (hung, stopped, a dropped network) holds a request for ever: an API read hangs past its client's
 * patience and an activity holds its attempt until its start-to-close timeout (30 minutes for validation). The
 * socket timeout is for silence, not for the whole transfer, so a large object that keeps moving is not cut off.
 * - `api`: answer within about 10 s (two tries of up to 4 s each) and say 503 (api/app.ts).
 * - `worker`: more patient, as an activity's failed attempt costs a retry; the retry policies
 *   (workflows/activity-options.ts) ride out a longer outage.
 */
export const S3_PATIENCE = {
  api: { connectionTimeout: 2_000, socketTimeout: 4_000, maxAttempts: 2 },
  worker: { connectionTimeout: 5_000, socketTimeout: 15_000, maxAttempts: 3 },
} as const;

export function createS3Client(
  { endpoint, region, forcePathStyle, credentials }: S3Settings,
  patience: keyof typeof S3_PATIENCE = 'worker',
): S3Client {
  const { connectionTimeout, socketTimeout, maxAttempts } = S3_PATIENCE[patience];
  return new S3Client({
    endpoint,
    region,
    forcePathStyle,
    credentials,
    maxAttempts,
    requestHandler: { connectionTimeout, socketTimeout },
  });
}

/** Creates the bucket unless it exists; true when it was created. */
export async function ensureBucket(s3: S3Client, bucket: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (error) {
    if (!(error instanceof S3ServiceException) || error.$metadata.httpStatusCode !== 404) throw error;
  }
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return true;
}
