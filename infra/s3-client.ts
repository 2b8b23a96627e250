import { CreateBucketCommand, HeadBucketCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { Config } from './config.ts';

export type S3Settings = Pick<Config['s3'], 'region' | 'forcePathStyle' | 'credentials'> & {
  endpoint: string | undefined;
};

export function createS3Client({ endpoint, region, forcePathStyle, credentials }: S3Settings): S3Client {
  return new S3Client({ endpoint, region, forcePathStyle, credentials });
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
