// Listing a tenant's API keys reads that tenant's records alone, through the per-tenant index, including keys
// stored before the index existed (indexed on the first listing). Against the real S3 server, in a bucket of its own
// so that the store-wide "indexed" marker starts absent.
import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { KeyStore, type KeyRecord } from '../../api/auth/keys.ts';
import { ObjectStore } from '../../core/object-store.ts';
import { s3Client } from '../helpers/stack.ts';

/** The real store, counting the objects read. */
class CountingStore extends ObjectStore {
  gets = 0;
  override async getJson<T>(key: Parameters<ObjectStore['getJson']>[0]): Promise<T> {
    this.gets++;
    return super.getJson<T>(key);
  }
}

const oldRecord = (id: string, tenant: string): KeyRecord => ({
  id,
  user: `user-${id}`,
  tenant,
  roles: ['viewer'],
  sha256: '0'.repeat(64),
  createdAt: '2026-11-01T00:00:00Z',
  createdBy: 'admin',
  revokedAt: null,
});

describe('KeyStore.list', () => {
  it("indexes keys stored before the index once, then reads only the tenant's records", async () => {
    const bucket = `keys-${randomUUID().slice(0, 8)}`;
    await s3Client().send(new CreateBucketCommand({ Bucket: bucket }));
    // Keys as an earlier Ratchet stored them: records only.
    for (const [id, tenant] of [
      ['00000000000000a1', 'acme'],
      ['00000000000000b1', 'globex'],
      ['00000000000000b2', 'globex'],
    ]) {
      await s3Client().send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `auth/keys/${id}.json`,
          Body: JSON.stringify(oldRecord(id, tenant)),
        }),
      );
    }
    expect((await new KeyStore(new ObjectStore(s3Client(), bucket)).list('acme')).map((k) => k.id)).toEqual([
      '00000000000000a1',
    ]);

    const store = new CountingStore(s3Client(), bucket);
    const keys = new KeyStore(store);
    const { info } = await keys.create({ user: 'ada', tenant: 'acme', roles: ['approver'] }, 'admin');
    store.gets = 0;
    const acme = await keys.list('acme');
    expect(acme.map((k) => k.id).sort()).toEqual(['00000000000000a1', info.id].sort());
    expect(acme.every((k) => !('sha256' in k))).toBe(true);
    expect(store.gets).toBe(2);
    expect((await keys.list('globex')).map((k) => k.id)).toEqual(['00000000000000b1', '00000000000000b2']);
    expect(await keys.list('initech')).toEqual([]);
  });
});
