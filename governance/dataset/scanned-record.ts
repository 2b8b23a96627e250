import { AsciiRecordReader } from './ascii-record.ts';
import { hash64, type Hash64 } from './hash64.ts';
import { normaliseText } from './normalise.ts';
import type { ValidationPolicy } from './policy.ts';
import type { DatasetRecord, Label, RecordInput } from './record.ts';

/**
 * A record as validate.ts's checkRecord reads it: its hashes, and its input, which it decodes only where a check needs it. One
 * object per file for the ASCII lines, refilled line by line (checkRecord keeps nothing of it): a file of millions
 * of short records should not cost an object, let alone a closure, per record.
 */
export interface ScannedRecord {
  readonly kind: RecordInput['kind'];
  /** Features records: how many. */
  readonly featureCount: number;
  readonly label: Label | undefined;
  readonly exact: Hash64;
  /** The normalised text's hash, for near duplicates (text records with near duplicates on, long enough). */
  readonly near: Hash64 | undefined;
  /** False where the text is known to hold nothing findPii looks for. */
  readonly mayHoldPii: boolean;
  input(): RecordInput;
}

export class AsciiRecord implements ScannedRecord {
  readonly kind = 'text';
  readonly featureCount = 0;
  label: Label | undefined;
  exact: Hash64 = { hi: 0, lo: 0 };
  near: Hash64 | undefined;
  mayHoldPii = true;
  private bytes: Uint8Array = new Uint8Array(0);
  readonly reader: AsciiRecordReader;

  constructor(policy: ValidationPolicy) {
    const { enabled, minChars } = policy.nearDuplicates;
    this.reader = new AsciiRecordReader(policy.maxRecordBytes, enabled ? minChars : -1);
  }

  /** Reads the line as a plain ASCII text record; false when it needs parseRecord. */
  read(bytes: Uint8Array, start: number, end: number, labelRequired: boolean): boolean {
    const { reader } = this;
    if (!reader.read(bytes, start, end, labelRequired)) return false;
    this.bytes = bytes;
    this.label = reader.label;
    this.mayHoldPii = reader.mayHoldPii;
    // The text kernel's hashes: valid until the next line is read, as this record is.
    this.exact = reader.kernel.exact;
    this.near = reader.kernel.near;
    return true;
  }

  input(): RecordInput {
    return { kind: 'text', text: this.reader.text(this.bytes) };
  }
}

export class ParsedRecord implements ScannedRecord {
  readonly kind: RecordInput['kind'];
  readonly featureCount: number;
  readonly label: Label | undefined;
  readonly exact: Hash64;
  readonly near: Hash64 | undefined;
  readonly mayHoldPii: boolean;
  private readonly parsed: RecordInput;

  constructor({ input, label }: DatasetRecord, policy: ValidationPolicy) {
    const text = input.kind === 'text';
    this.kind = input.kind;
    this.featureCount = text ? 0 : input.features.length;
    this.label = label;
    this.exact = hash64(text ? input.text : JSON.stringify(input.features));
    this.near = text ? nearDuplicateHash(input.text, policy) : undefined;
    this.mayHoldPii = text;
    this.parsed = input;
  }

  input(): RecordInput {
    return this.parsed;
  }
}

function nearDuplicateHash(text: string, policy: ValidationPolicy): Hash64 | undefined {
  if (!policy.nearDuplicates.enabled) return undefined;
  const normalised = normaliseText(text);
  return normalised.length >= policy.nearDuplicates.minChars ? hash64(normalised) : undefined;
}
