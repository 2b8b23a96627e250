// Files: datasets a tenant uploads. Small ones as multipart; large ones with a presigned PUT straight to S3, then
// `complete`, which reads the object back to record its size and sha256. S3 keys are made here, never taken
// from the caller: tenants/<tenant>/files/<file-id>.json (the record) and .../<file-id>/content (the bytes).
import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { z } from 'zod';
import {
  ObjectNotFound,
  objectKey,
  parseObjectKey,
  type ObjectKey,
  type ObjectStore,
} from '../../core/object-store.ts';
import { endpoint } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { HttpProblem, conflict, notFound } from '../problem.ts';
import type { AuditTrail } from './audit-trail.ts';
import { page, pageOf, pageQuery } from './schemas.ts';

export type FileRecord = {
  id: string;
  filename: string;
  /** pending: a presigned upload not yet completed. */
  status: 'pending' | 'uploaded';
  bytes: number | null;
  sha256: string | null;
  licence: string;
  source: string;
  tenant: string;
  created_at: string;
  created_by: string;
};

const fileSchema = z
  .object({
    id: z.string(),
    filename: z.string(),
    status: z.enum(['pending', 'uploaded']),
    bytes: z.number().int().nullable(),
    sha256: z.string().nullable(),
    licence: z.string(),
    source: z.string(),
    tenant: z.string(),
    created_at: z.string(),
    created_by: z.string(),
  })
  .meta({ id: 'File' });

const FILE_ID = /^file-[0-9a-z]{9}[0-9a-f]{12}$/;
const fileIdParam = z.object({
  fileId: z.string().regex(FILE_ID, 'expected a file id such as file-0abc12def0123456789abcd'),
});

const described = {
  filename: z.string().trim().min(1).max(200),
  /** SPDX identifier, checked against the job policy's allowed licences. */
  licence: z.string().trim().min(1).max(100),
  /** Where the data came from, in words or as a URL. */
  source: z.string().trim().min(1).max(500),
};

const upload = endpoint({
  method: 'post',
  path: '/v1/files',
  summary: 'Upload a small file (multipart/form-data)',
  tag: 'files',
  role: 'submitter',
  multipart: true,
  body: z.object({ file: z.file(), licence: described.licence, source: described.source }),
  responses: { 201: { description: 'Stored', schema: fileSchema } },
});

const startUpload = endpoint({
  method: 'post',
  path: '/v1/files/uploads',
  summary: 'Start a large upload: returns a presigned PUT URL',
  tag: 'files',
  role: 'submitter',
  body: z.object(described).strict(),
  responses: {
    201: {
      description: 'PUT the bytes to upload.url, then POST /v1/files/{fileId}/complete',
      schema: z.object({
        file: fileSchema,
        upload: z.object({ method: z.literal('PUT'), url: z.string(), expires_at: z.string() }),
      }),
    },
  },
});

const complete = endpoint({
  method: 'post',
  path: '/v1/files/{fileId}/complete',
  summary: 'Finish a presigned upload: records size and sha256',
  tag: 'files',
  role: 'submitter',
  params: fileIdParam,
  responses: {
    200: { description: 'Uploaded', schema: fileSchema },
    404: { description: 'No such file' },
    409: { description: 'Nothing was uploaded yet' },
  },
});

const get = endpoint({
  method: 'get',
  path: '/v1/files/{fileId}',
  summary: 'A file record',
  tag: 'files',
  role: 'viewer',
  params: fileIdParam,
  responses: { 200: { description: 'The file', schema: fileSchema }, 404: { description: 'No such file' } },
});

const list = endpoint({
  method: 'get',
  path: '/v1/files',
  summary: "The tenant's files, oldest first",
  tag: 'files',
  role: 'viewer',
  query: pageQuery,
  responses: { 200: { description: 'A page of files', schema: page(fileSchema) } },
});

export const fileEndpoints = [upload, startUpload, complete, get, list];

// Long enough for a slow link to send a large file, short enough that a leaked URL soon stops working.
const PRESIGN_SECONDS = 15 * 60;

const recordKey = (tenant: string, id: string) => objectKey('tenants', tenant, 'files', `${id}.json`);
export const contentKey = (tenant: string, id: string) => objectKey('tenants', tenant, 'files', id, 'content');

/** The S3 key of a tenant's uploaded file, for a job's input; 422-worthy problems name the field. */
export async function uploadedFile(
  store: ObjectStore,
  tenant: string,
  id: string,
  field: string,
): Promise<FileRecord & { key: ObjectKey }> {
  const record = FILE_ID.test(id) ? await readRecord(store, tenant, id) : undefined;
  const invalid = (message: string) =>
    new HttpProblem(422, {
      title: 'Invalid request body',
      detail: `body.${field}: ${message}`,
      errors: [{ path: `body.${field}`, message }],
    });
  if (!record) throw invalid(`no file ${id}`);
  if (record.status !== 'uploaded') throw invalid(`file ${id} is still pending: complete its upload first`);
  return { ...record, key: contentKey(tenant, id) };
}

async function readRecord(store: ObjectStore, tenant: string, id: string): Promise<FileRecord | undefined> {
  try {
    return await store.getJson<FileRecord>(recordKey(tenant, id));
  } catch (error) {
    if (error instanceof ObjectNotFound) return undefined;
    throw error;
  }
}

export function fileRoutes(deps: {
  store: ObjectStore;
  s3: S3Client;
  bucket: string;
  audit: AuditTrail;
  limits: BodyLimits;
}) {
  const { store } = deps;
  const { app, mount } = router(deps.limits);
  const newRecord = (
    tenant: string,
    user: string,
    fields: Pick<FileRecord, 'filename' | 'licence' | 'source'>,
  ): FileRecord => ({
    // Time first, so that key order is upload order.
    id: `file-${Date.now().toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`,
    status: 'pending',
    bytes: null,
    sha256: null,
    ...fields,
    tenant,
    created_at: new Date().toISOString(),
    created_by: user,
  });
  const save = async (record: FileRecord, actor: string) => {
    await store.putJson(recordKey(record.tenant, record.id), record);
    if (record.status === 'uploaded') {
      await deps.audit.record(
        record.tenant,
        actor,
        'file.uploaded',
        record.id,
        { filename: record.filename, bytes: record.bytes, licence: record.licence, source: record.source },
        { outputs: { content: record.sha256 } },
      );
    }
    return record;
  };

  mount(upload, async (c, { body }) => {
    const { tenant, user } = c.get('principal');
    const bytes = new Uint8Array(await body.file.arrayBuffer());
    const record = newRecord(tenant, user, {
      filename: body.file.name || 'upload',
      licence: body.licence,
      source: body.source,
    });
    await store.put(contentKey(tenant, record.id), bytes, { contentType: 'application/octet-stream' });
    record.status = 'uploaded';
    record.bytes = bytes.byteLength;
    record.sha256 = createHash('sha256').update(bytes).digest('hex');
    return c.json(await save(record, user), 201);
  });

  mount(startUpload, async (c, { body }) => {
    const { tenant, user } = c.get('principal');
    const record = await save(newRecord(tenant, user, body), user);
    const url = await getSignedUrl(
      deps.s3,
      new PutObjectCommand({ Bucket: deps.bucket, Key: contentKey(tenant, record.id) }),
      { expiresIn: PRESIGN_SECONDS },
    );
    const expires_at = new Date(Date.now() + PRESIGN_SECONDS * 1000).toISOString();
    return c.json({ file: record, upload: { method: 'PUT' as const, url, expires_at } }, 201);
  });

  mount(complete, async (c, { params }) => {
    const { tenant, user } = c.get('principal');
    const record = await readRecord(store, tenant, params.fileId);
    if (!record) throw notFound(`file ${params.fileId}`);
    if (record.status === 'uploaded') return c.json(record);
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      for await (const chunk of await store.getStream(contentKey(tenant, record.id))) {
        hash.update(chunk);
        bytes += chunk.byteLength;
      }
    } catch (error) {
      if (error instanceof ObjectNotFound)
        throw conflict(`nothing was uploaded for ${record.id} yet: PUT the bytes to its upload URL first`);
      throw error;
    }
    return c.json(await save({ ...record, status: 'uploaded', bytes, sha256: hash.digest('hex') }, user));
  });

  mount(get, async (c, { params }) => {
    const record = await readRecord(store, c.get('principal').tenant, params.fileId);
    if (!record) throw notFound(`file ${params.fileId}`);
    return c.json(record);
  });

  mount(list, async (c, { query }) => {
    const { tenant } = c.get('principal');
    const prefix = `tenants/${tenant}/files/`;
    const ids = (await store.list(prefix)).flatMap(
      (key) => key.slice(prefix.length).match(/^(file-[0-9a-z]+)\.json$/)?.[1] ?? [],
    );
    const shown = pageOf(ids, (id) => id, query);
    const data = await Promise.all(
      shown.data.map((id) => store.getJson<FileRecord>(parseObjectKey(`${prefix}${id}.json`))),
    );
    return c.json({ data, next_cursor: shown.next_cursor });
  });

  return app;
}
