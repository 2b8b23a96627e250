import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';

// The only door from activities to S3. Every key is an `ObjectKey`, which only `objectKey` and `parseObjectKey`
// make: user input never reaches S3 unchecked (S3 gateways with a file-system backend map keys to paths).

declare const checked: unique symbol;
export type ObjectKey = string & { readonly [checked]: true };

// A segment starts with a letter or digit, so '.', '..' and hidden names cannot occur.
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._=-]{0,199}$/;
const MAX_KEY_LENGTH = 1024;

export class InvalidObjectKey extends Error {
  override name = 'InvalidObjectKey';
}

export class ObjectNotFound extends Error {
  override name = 'ObjectNotFound';
}

/** A conditional write (`ifAbsent`, `ifMatch`) whose condition did not hold: HTTP 412. */
export class PreconditionFailed extends Error {
  override name = 'PreconditionFailed';
}

export type PutOptions = {
  contentType?: string;
  /** Create only: fails with PreconditionFailed when the key exists (If-None-Match: *). */
  ifAbsent?: boolean;
  /** Replace only the version with this ETag: fails with PreconditionFailed otherwise (If-Match). */
  ifMatch?: string;
};

/** Joins checked segments into a key, e.g. objectKey('reports', workflowId, 'validation.json'). */
export function objectKey(...segments: string[]): ObjectKey {
  for (const segment of segments) {
    if (!SEGMENT.test(segment)) {
      throw new InvalidObjectKey(
        `invalid object key segment ${JSON.stringify(segment)}: use letters, digits, '.', '_', '=', '-' (first a letter or digit)`,
      );
    }
  }
  const key = segments.join('/');
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new InvalidObjectKey(`invalid object key: length must be 1 to ${MAX_KEY_LENGTH}`);
  }
  return key as ObjectKey;
}

/** Checks a key that arrived from outside, e.g. 'datasets/spam/train.jsonl'. */
export function parseObjectKey(key: unknown): ObjectKey {
  if (typeof key !== 'string') throw new InvalidObjectKey(`invalid object key: expected a string, got ${typeof key}`);
  return objectKey(...key.split('/'));
}

export class ObjectStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /** The object's size in bytes; ObjectNotFound when there is none. */
  async head(key: ObjectKey): Promise<{ bytes: number }> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { bytes: out.ContentLength ?? 0 };
    } catch (error) {
      throw this.notFound(error, key);
    }
  }

  /** The object's bytes as they arrive; aborting `signal` ends the download. */
  async getStream(key: ObjectKey, signal?: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: signal,
      });
      // On Node the body is an http.IncomingMessage, which is an async iterable of Buffers.
      return out.Body as AsyncIterable<Uint8Array>;
    } catch (error) {
      throw this.notFound(error, key);
    }
  }

  async putJson(key: ObjectKey, value: unknown): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: JSON.stringify(value, null, 2),
        ContentType: 'application/json',
      }),
    );
  }

  /** Writes `body`; returns the new ETag. */
  async put(key: ObjectKey, body: string | Uint8Array, options: PutOptions = {}): Promise<string> {
    try {
      const out = await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          // Given, not left to the SDK: it sends none for an empty body (an index marker) and then warns.
          ContentLength: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
          ContentType: options.contentType,
          IfNoneMatch: options.ifAbsent ? '*' : undefined,
          IfMatch: options.ifMatch,
        }),
      );
      return out.ETag ?? '';
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412) {
        throw new PreconditionFailed(`precondition failed writing '${key}' in bucket '${this.bucket}'`);
      }
      throw error;
    }
  }

  /** The object's bytes and ETag; ObjectNotFound when there is none. */
  async get(key: ObjectKey): Promise<{ bytes: Uint8Array; etag: string }> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return { bytes: await out.Body!.transformToByteArray(), etag: out.ETag ?? '' };
    } catch (error) {
      throw this.notFound(error, key);
    }
  }

  /**
   * Every key under `prefix` (e.g. 'ledger/acme/'), in ascending order; with `startAfter`, only the keys after it,
   * which the server skips itself (S3's lexical order), so a reader that remembers its last key reads only what is new.
   */
  async list(prefix: string, options: { startAfter?: string } = {}): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandInput = { Bucket: this.bucket, Prefix: prefix, ContinuationToken: token };
      // The first page starts after `startAfter`; the token carries that on.
      if (!token) page.StartAfter = options.startAfter;
      const out = await this.s3.send(new ListObjectsV2Command(page));
      for (const object of out.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys.sort();
  }

  /** Removes the object; removing one that is not there is not an error (S3's own semantics). */
  async delete(key: ObjectKey): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async getJson<T>(key: ObjectKey): Promise<T> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return JSON.parse(await out.Body!.transformToString()) as T;
    } catch (error) {
      throw this.notFound(error, key);
    }
  }

  private notFound(error: unknown, key: ObjectKey): unknown {
    const missing =
      error instanceof NoSuchKey ||
      error instanceof NotFound ||
      (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;
    return missing ? new ObjectNotFound(`no object '${key}' in bucket '${this.bucket}'`) : error;
  }
}
