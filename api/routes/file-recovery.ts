// Mending what an API process killed during a multipart upload leaves (./files.ts stores the bytes, then the ledger
// entry, then the record): bytes under tenants/<tenant>/files/<id>/content with no <id>.json record. When the
// ledger holds the file's `file.uploaded` entry the upload was committed and only its record is missing: it is
// restored from the entry, which holds every field of it. Without an entry the upload never finished: its bytes
// are deleted once they are older than any upload still being stored could be, and ignored until then.
import type { Ledger } from '../../core/ledger/ledger.ts';
import type { ObjectStore } from '../../core/object-store.ts';
import { contentKey, recordKey, type FileRecord } from './file-keys.ts';

/** Far longer than storing a 32 MiB body takes: bytes without a record this old belong to no live request. */
export const ABANDONED_UPLOAD_MS = 15 * 60 * 1000;

/** The time an id was made (ids begin with it in base 36, ./files.ts). */
const madeAt = (id: string) => parseInt(id.slice('file-'.length, 'file-'.length + 9), 36);

/**
 * Mends the uploads among `keys` (a listing of the tenant's files prefix) that have bytes and no record; returns
 * the ids whose records it restored.
 */
export async function recoverUploads(
  deps: { store: ObjectStore; ledger: Ledger },
  tenant: string,
  keys: string[],
  now = Date.now(),
): Promise<string[]> {
  const prefix = `tenants/${tenant}/files/`;
  const names = new Set(keys.map((key) => key.slice(prefix.length)));
  const orphans = [...names].flatMap((name) => {
    const id = /^(file-[0-9a-z]+)\/content$/.exec(name)?.[1];
    return id && !names.has(`${id}.json`) ? [id] : [];
  });
  const restored: string[] = [];
  for (const id of orphans) {
    const [entry] = await deps.ledger.list(tenant, { subject: id, action: 'file.uploaded' });
    if (entry) {
      const details = entry.details as Pick<FileRecord, 'filename' | 'bytes' | 'licence' | 'source'>;
      const record: FileRecord = {
        id,
        ...details,
        purpose: 'fine-tune',
        status: 'uploaded',
        sha256: (entry.outputs?.content as string | undefined) ?? null,
        tenant,
        created_at: new Date(madeAt(id)).toISOString(),
        created_by: entry.actor,
      };
      await deps.store.putJson(recordKey(tenant, id), record);
      restored.push(id);
    } else if (now - madeAt(id) > ABANDONED_UPLOAD_MS) {
      await deps.store.delete(contentKey(tenant, id));
    }
  }
  return restored;
}
