// Where a tenant's files live in S3, made here and never from a caller's string: tenants/<tenant>/files/<id>.json
// (the record) and tenants/<tenant>/files/<id>/content (the bytes).
import { objectKey } from '../../core/object-store.ts';

export const recordKey = (tenant: string, id: string) => objectKey('tenants', tenant, 'files', `${id}.json`);
export const contentKey = (tenant: string, id: string) => objectKey('tenants', tenant, 'files', id, 'content');
