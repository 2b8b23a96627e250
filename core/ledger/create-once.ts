import { PreconditionFailed, type ObjectKey, type ObjectStore } from '../object-store.ts';

// Create-if-absent, as strong as the S3 server allows. AWS S3 documents If-None-Match: * as atomic. Versity Gateway
// 1.7.0 (posix backend) checks it before streaming the body and then renames its temp file over whatever is there,
// so two overlapping creates can both get 200 and the later rename wins. Two guards close most of that window:
// creates of one key are serialised within this process, and each create reads its object back.

const tails = new Map<string, Promise<void>>();

/** Runs `fn` after every earlier call with the same `lock` in this process has settled. */
export async function serialised<T>(lock: string, fn: () => Promise<T>): Promise<T> {
  const run = (tails.get(lock) ?? Promise.resolve()).then(fn);
  const tail = run.then(
    () => {},
    () => {},
  );
  tails.set(lock, tail);
  try {
    return await run;
  } finally {
    if (tails.get(lock) === tail) tails.delete(lock);
  }
}

/** Creates `key` holding `body` unless it exists. True when the key holds this call's body afterwards. */
export async function createOnce(store: ObjectStore, key: ObjectKey, body: string): Promise<boolean> {
  try {
    await store.put(key, body, { ifAbsent: true, contentType: 'application/json' });
  } catch (error) {
    if (error instanceof PreconditionFailed) return false;
    throw error;
  }
  const { bytes } = await store.get(key);
  return Buffer.from(bytes).equals(Buffer.from(body));
}
