// Files: datasets a tenant uploads, as OpenAI's files API serves them (POST multipart with `purpose`, list, get,
// content, delete), plus Ratchet's large uploads: a presigned PUT straight to S3, then `complete`, which reads the
// object back to record its size and sha256. S3 keys are made in ./file-keys.ts, never taken from the caller.
import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { z } from 'zod';
import { ObjectNotFound, parseObjectKey, type ObjectKey, type ObjectStore } from '../../core/object-store.ts';
import type { Ledger } from '../../core/ledger/ledger.ts';
import { resource } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { conflict, invalidField, notFound } from '../problem.ts';
import type { AuditTrail } from './audit-trail.ts';
import { contentKey, recordKey, type FileRecord } from './file-keys.ts';
import { recoverUploads } from './file-recovery.ts';
import { deletedResponses, listOf, listPage } from './schemas.ts';

const fileSchema = z
  .object({
    id: z.string(),
    object: z.literal('file'),
    bytes: z.number().int().nullable(),
    created_at: z.number().int().meta({ description: 'Unix seconds' }),
    expires_at: z.null(),
    filename: z.string(),
    purpose: z.literal('fine-tune'),
    /** OpenAI's: processed once the bytes are stored; uploaded while a presigned upload is not completed. */
    status: z.enum(['uploaded', 'processed']),
    status_details: z.null(),
    licence: z.string().nullable(),
    source: z.string().nullable(),
    sha256: z.string().nullable(),
    created_by: z.string(),
  })
  .meta({ id: 'File' });

/** The file as the API shows it: OpenAI's file object, with Ratchet's licence, source and sha256. */
export const fileObject = (record: FileRecord): z.output<typeof fileSchema> => ({
  id: record.id,
  object: 'file',
  bytes: record.bytes,
  created_at: Math.floor(Date.parse(record.created_at) / 1000),
  expires_at: null,
  filename: record.filename,
  purpose: 'fine-tune',
  status: record.status === 'uploaded' ? 'processed' : 'uploaded',
  status_details: null,
  licence: record.licence,
  source: record.source,
  sha256: record.sha256,
  created_by: record.created_by,
});

export const FILE_ID = /^file-[0-9a-z]{9}[0-9a-f]{12}$/;
const fileIdParam = z.object({
  fileId: z.string().regex(FILE_ID, 'expected a file id such as file-0abc12def0123456789abcd'),
});

// Ratchet trains on fine-tune files only; another of OpenAI's purposes is refused by name.
const purpose = z.literal('fine-tune', { error: "expected 'fine-tune': Ratchet stores training data only" });
const described = {
  filename: z.string().trim().min(1).max(200),
  /** SPDX identifier, checked against the job policy's allowed licences. Optional: see FileRecord.licence. */
  licence: z.string().trim().min(1).max(100).optional(),
  /** Where the data came from, in words or as a URL. */
  source: z.string().trim().min(1).max(500).optional(),
};

const api = resource('files');
const onFile = api.one(fileIdParam, 'No such file');

const upload = api.post('/v1/files', {
  summary: 'Upload a file (multipart/form-data: file, purpose, and optionally licence and source)',
  role: 'submitter',
  multipart: true,
  body: z.object({ file: z.file(), purpose, licence: described.licence, source: described.source }),
  responses: { 200: { description: 'Stored', schema: fileSchema } },
});

const startUpload = api.post('/v1/files/uploads', {
  summary: 'Start a large upload: returns a presigned PUT URL',
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

const complete = onFile.post('/v1/files/{fileId}/complete', {
  summary: 'Finish a presigned upload: records size and sha256',
  role: 'submitter',
  responses: {
    200: { description: 'Uploaded', schema: fileSchema },
    409: { description: 'Nothing was uploaded yet' },
  },
});

const get = onFile.get('/v1/files/{fileId}', {
  summary: 'A file',
  role: 'viewer',
  responses: { 200: { description: 'The file', schema: fileSchema } },
});

const content = onFile.get('/v1/files/{fileId}/content', {
  summary: "A file's bytes",
  role: 'viewer',
  responses: {
    200: { description: 'The bytes as uploaded', contentType: 'application/octet-stream' },
    404: { description: 'No such file, or no bytes uploaded yet' },
  },
});

const remove = onFile.delete('/v1/files/{fileId}', {
  summary: 'Delete a file (jobs that ran on it keep its sha256 in their lineage)',
  role: 'submitter',
  responses: deletedResponses('file'),
});

const list = api.get('/v1/files', {
  summary: "The tenant's files, newest first unless order=asc",
  role: 'viewer',
  query: z.object({
    after: z.string().max(64).optional(),
    // OpenAI's bounds: up to 10,000 files a page, all of them by default.
    limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
    order: z.enum(['asc', 'desc']).default('desc'),
    purpose: z.string().max(64).optional(),
  }),
  responses: { 200: { description: 'A page of files', schema: listOf(fileSchema) } },
});

export const fileEndpoints = [upload, startUpload, complete, get, content, remove, list];

// Long enough for a slow link to send a large file, short enough that a leaked URL soon stops working.
const PRESIGN_SECONDS = 15 * 60;

/** A tenant's uploaded file, for a job's input; a 400 names the field when there is none. */
export async function uploadedFile(
  store: ObjectStore,
  tenant: string,
  id: string,
  field: string,
): Promise<FileRecord & { key: ObjectKey }> {
  const record = FILE_ID.test(id) ? await readRecord(store, tenant, id) : undefined;
  const invalid = (message: string) => invalidField(`body.${field}`, message);
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

/** Making and saving file records: the routes here and a job's held-out split (./holdout.ts) share it. */
export function fileStore(store: ObjectStore, audit: AuditTrail) {
  const pending = (tenant: string, user: string, fields: FileFields, now = Date.now()): FileRecord => ({
    // Time first, so that key order is upload order; the same instant as created_at, which a record restored
    // from the ledger (./file-recovery.ts) reads back from the id.
    id: `file-${now.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`,
    filename: fields.filename,
    purpose: 'fine-tune',
    status: 'pending',
    bytes: null,
    sha256: null,
    licence: fields.licence ?? null,
    source: fields.source ?? null,
    tenant,
    created_at: new Date(now).toISOString(),
    created_by: user,
  });
  const recordUploaded = (record: FileRecord, actor: string) =>
    audit.record(
      record.tenant,
      actor,
      'file.uploaded',
      record.id,
      { filename: record.filename, bytes: record.bytes, licence: record.licence, source: record.source },
      { outputs: { content: record.sha256 } },
    );
  const save = async (record: FileRecord, actor: string) => {
    await store.putJson(recordKey(record.tenant, record.id), record);
    if (record.status === 'uploaded') await recordUploaded(record, actor);
    return record;
  };
  /**
   * Stores `bytes` as a new uploaded file: the bytes, then the ledger entry, then the record that makes the file
   * visible, so a visible file always has its entry. A process that dies part-way leaves bytes without a record,
   * which a listing mends (./file-recovery.ts): restored from the entry when there is one, deleted when stale.
   */
  const upload = async (tenant: string, user: string, fields: FileFields, bytes: Uint8Array) => {
    const record = pending(tenant, user, fields);
    await store.put(contentKey(tenant, record.id), bytes, { contentType: 'application/octet-stream' });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const uploaded: FileRecord = { ...record, status: 'uploaded', bytes: bytes.byteLength, sha256 };
    await recordUploaded(uploaded, user);
    await store.putJson(recordKey(tenant, record.id), uploaded);
    return uploaded;
  };
  return { pending, save, upload };
}

type FileFields = { filename: string; licence?: string | null; source?: string | null };

export function fileRoutes(deps: {
  store: ObjectStore;
  /** Read to mend uploads a killed process left without a record (./file-recovery.ts). */
  ledger: Ledger;
  s3: S3Client;
  bucket: string;
  audit: AuditTrail;
  limits: BodyLimits;
}) {
  const { store } = deps;
  const { app, mount } = router(deps.limits);
  const files = fileStore(store, deps.audit);

  mount(upload, async (c, { body }) => {
    const { tenant, user } = c.get('principal');
    const bytes = new Uint8Array(await body.file.arrayBuffer());
    const fields = { filename: body.file.name || 'upload', licence: body.licence, source: body.source };
    return c.json(fileObject(await files.upload(tenant, user, fields, bytes)));
  });

  mount(startUpload, async (c, { body }) => {
    const { tenant, user } = c.get('principal');
    const record = await files.save(files.pending(tenant, user, body), user);
    const url = await getSignedUrl(
      deps.s3,
      new PutObjectCommand({ Bucket: deps.bucket, Key: contentKey(tenant, record.id) }),
      { expiresIn: PRESIGN_SECONDS },
    );
    const expires_at = new Date(Date.now() + PRESIGN_SECONDS * 1000).toISOString();
    return c.json({ file: fileObject(record), upload: { method: 'PUT' as const, url, expires_at } }, 201);
  });

  mount(complete, async (c, { params }) => {
    const { tenant, user } = c.get('principal');
    const record = await readRecord(store, tenant, params.fileId);
    if (!record) throw notFound(`file ${params.fileId}`);
    if (record.status === 'uploaded') return c.json(fileObject(record));
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
    return c.json(
      fileObject(await files.save({ ...record, status: 'uploaded', bytes, sha256: hash.digest('hex') }, user)),
    );
  });

  /** This tenant's file; another tenant's is not found, as is one that does not exist. */
  const own = async (tenant: string, id: string) => {
    const record = await readRecord(store, tenant, id);
    if (!record) throw notFound(`file ${id}`);
    return record;
  };

  mount(get, async (c, { params }) => c.json(fileObject(await own(c.get('principal').tenant, params.fileId))));

  mount(content, async (c, { params }) => {
    const { tenant } = c.get('principal');
    const record = await own(tenant, params.fileId);
    if (record.status !== 'uploaded') throw notFound(`content for ${record.id}: its upload is not completed`);
    const { bytes } = await store.get(contentKey(tenant, record.id));
    return c.body(new Uint8Array(bytes), 200, { 'Content-Type': 'application/octet-stream' });
  });

  mount(remove, async (c, { params }) => {
    const { tenant, user } = c.get('principal');
    const record = await own(tenant, params.fileId);
    await store.delete(contentKey(tenant, record.id));
    await store.delete(recordKey(tenant, record.id));
    await deps.audit.record(tenant, user, 'file.deleted', record.id, { filename: record.filename });
    return c.json({ id: record.id, object: 'file' as const, deleted: true as const });
  });

  mount(list, async (c, { query }) => {
    const { tenant } = c.get('principal');
    const prefix = `tenants/${tenant}/files/`;
    const keys = await store.list(prefix);
    const restored = await recoverUploads({ store, ledger: deps.ledger }, tenant, keys);
    // Ids start with the upload time, so key order is upload order.
    const ids = [
      ...keys.flatMap((key) => key.slice(prefix.length).match(/^(file-[0-9a-z]+)\.json$/)?.[1] ?? []),
      ...restored,
    ].sort();
    if (query.order === 'desc') ids.reverse();
    // Every file here is a fine-tune file, so a purpose filter either keeps them all or none.
    const kept = query.purpose === undefined || query.purpose === 'fine-tune' ? ids : [];
    const shown = listPage(kept, (id) => id, query);
    const data = await Promise.all(
      shown.data.map(async (id) => fileObject(await store.getJson<FileRecord>(parseObjectKey(`${prefix}${id}.json`)))),
    );
    return c.json({ ...shown, data });
  });

  return app;
}
