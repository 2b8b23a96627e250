// A tenant's file as stored, and where it lives in S3, made here and never from a caller's string:
// tenants/<tenant>/files/<id>.json (the record) and tenants/<tenant>/files/<id>/content (the bytes).
import { objectKey } from '../../core/object-store.ts';

export const recordKey = (tenant: string, id: string) => objectKey('tenants', tenant, 'files', `${id}.json`);
export const contentKey = (tenant: string, id: string) => objectKey('tenants', tenant, 'files', id, 'content');

/** A file as stored. Records from before `purpose` existed are fine-tune files. */
export type FileRecord = {
  id: string;
  filename: string;
  purpose?: 'fine-tune';
  /** pending: a presigned upload not yet completed. */
  status: 'pending' | 'uploaded';
  bytes: number | null;
  sha256: string | null;
  /** SPDX identifier; null when the uploader declared none (validation flags it, a policy's allow-list blocks it). */
  licence: string | null;
  source: string | null;
  tenant: string;
  created_at: string;
  created_by: string;
};
