import { ApplicationFailure } from '@temporalio/activity';
import { parseObjectKey, type ObjectStore } from '../core/object-store.ts';

// What a schedule trains on: the newest dataset under a prefix. A dataset is a folder
// `<prefix>/<version>/` holding train.jsonl and eval.jsonl; versions compare as strings, so name them so that
// later sorts last (a date, a timestamp, a zero-padded number).

export type DatasetVersion = { version: string; trainKey: string; evalKey: string };

const FILES = ['train.jsonl', 'eval.jsonl'] as const;

export function createResolveNewestDataset(store: ObjectStore) {
  return async function resolveNewestDataset({ prefix }: { prefix: string }): Promise<DatasetVersion> {
    const folder = `${parseObjectKey(prefix)}/`;
    const filesByVersion = new Map<string, Set<string>>();
    for (const key of await store.list(folder)) {
      const [version, file, ...deeper] = key.slice(folder.length).split('/');
      if (file === undefined || deeper.length > 0) continue;
      filesByVersion.set(version, (filesByVersion.get(version) ?? new Set()).add(file));
    }
    const complete = [...filesByVersion].filter(([, files]) => FILES.every((f) => files.has(f)));
    const newest = complete
      .map(([version]) => version)
      .sort()
      .at(-1);
    if (newest === undefined) {
      throw ApplicationFailure.nonRetryable(
        `no dataset under '${folder}': expected folders <version>/ holding ${FILES.join(' and ')}`,
        'NoDataset',
      );
    }
    return { version: newest, trainKey: `${folder}${newest}/train.jsonl`, evalKey: `${folder}${newest}/eval.jsonl` };
  };
}
