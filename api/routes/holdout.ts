// A job created without a validation file: every fifth row of the training file is held out, so the candidate is
// scored (and gated, and compared with production) on rows it never trained on. Both parts are stored as files of
// their own, with the training file's licence and source, so the job names exactly what it trained and was
// scored on, and a client can read them back.
import type { ObjectStore } from '../../core/object-store.ts';
import { invalidField } from '../problem.ts';
import type { AuditTrail } from './audit-trail.ts';
import { contentKey, type FileRecord } from './file-keys.ts';
import { fileStore } from './files.ts';

const EVERY = 5;

export async function holdOut(
  store: ObjectStore,
  audit: AuditTrail,
  user: string,
  train: FileRecord,
): Promise<{ train: FileRecord; validation: FileRecord }> {
  const { bytes } = await store.get(contentKey(train.tenant, train.id));
  const rows = new TextDecoder()
    .decode(bytes)
    .split('\n')
    .filter((line) => line.trim());
  if (rows.length < 2 * EVERY) {
    throw invalidField(
      'body.validation_file',
      `required: the training file has ${rows.length} rows, too few to hold out every ${EVERY}th`,
    );
  }
  const part = (held: boolean) =>
    new TextEncoder().encode(rows.filter((_, i) => (i % EVERY === EVERY - 1) === held).join('\n') + '\n');
  const files = fileStore(store, audit);
  const fields = (name: string) => ({
    filename: `${train.filename} (${name})`,
    licence: train.licence,
    source: train.source,
  });
  return {
    train: await files.upload(train.tenant, user, fields('training split'), part(false)),
    validation: await files.upload(train.tenant, user, fields('validation split'), part(true)),
  };
}
