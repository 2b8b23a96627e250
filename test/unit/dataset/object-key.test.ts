import { describe, expect, it } from 'vitest';
import { InvalidObjectKey, objectKey, parseObjectKey } from '../../../core/object-store.ts';

describe('object keys', () => {
  it('accepts keys made of plain segments', () => {
    expect(parseObjectKey('datasets/spam-2002/train.v2.jsonl')).toBe('datasets/spam-2002/train.v2.jsonl');
    expect(objectKey('reports', 'validate-1f2e', 'validation.json')).toBe('reports/validate-1f2e/validation.json');
  });

  it.each([
    ['../etc/passwd'],
    ['datasets/../../secret'],
    ['/absolute/key'],
    ['datasets//train.jsonl'],
    ['datasets/.hidden'],
    ['datasets/train.jsonl/'],
    ['datasets/tr ain.jsonl'],
    ['datasets/trainé.jsonl'],
    [''],
    ['a'.repeat(201)],
  ])('rejects %j with a message naming the segment', (key) => {
    expect(() => parseObjectKey(key)).toThrow(InvalidObjectKey);
    expect(() => parseObjectKey(key)).toThrow(/invalid object key/);
  });

  it('rejects a key that is not a string', () => {
    expect(() => parseObjectKey(42)).toThrow(/expected a string, got number/);
  });

  it('rejects a generated key longer than S3 allows', () => {
    expect(() => objectKey(...Array.from({ length: 6 }, () => 'x'.repeat(200)))).toThrow(/length must be 1 to 1024/);
  });
});
