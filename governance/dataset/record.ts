import { MAX_LABEL_LENGTH, type FindingCode } from './findings.ts';

// Turns one JSONL line into a record, or names the first thing wrong with it.

export type Label = string | number;
export type RecordInput = { kind: 'text'; text: string } | { kind: 'features'; features: number[] };
export type DatasetRecord = { input: RecordInput; label: Label | undefined };
export type RecordProblem = { problem: FindingCode };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function parseRecord(bytes: Uint8Array, labelRequired: boolean): DatasetRecord | RecordProblem {
  if (hasControlBytes(bytes)) return { problem: 'binary_data' };
  let line: string;
  try {
    line = utf8.decode(bytes);
  } catch {
    return { problem: 'invalid_utf8' };
  }
  if (line.trim() === '') return { problem: 'empty_line' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { problem: 'parse_error' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'not_an_object' };
  return checkShape(value as Record<string, unknown>, labelRequired);
}

function checkShape(value: Record<string, unknown>, labelRequired: boolean): DatasetRecord | RecordProblem {
  const { text, features, label } = value;
  if (text !== undefined && features !== undefined) return { problem: 'ambiguous_input' };
  if (text === undefined && features === undefined) return { problem: 'missing_input' };
  if (label === undefined || label === null) {
    if (labelRequired) return { problem: 'missing_label' };
  } else if (typeof label !== 'string' && typeof label !== 'number') {
    return { problem: 'wrong_type' };
  } else if (typeof label === 'string' && label.length > MAX_LABEL_LENGTH) {
    return { problem: 'label_too_long' };
  }
  // An optional slice names a subgroup of rows (a region, a source) the evaluation reports and gates separately.
  const { slice } = value;
  if (slice !== undefined && slice !== null && !isSliceName(slice)) return { problem: 'wrong_type' };
  const checkedLabel = label ?? undefined;
  if (text !== undefined) {
    if (typeof text !== 'string') return { problem: 'wrong_type' };
    if (text.trim() === '') return { problem: 'empty_input' };
    return { input: { kind: 'text', text }, label: checkedLabel };
  }
  if (!Array.isArray(features) || !features.every((x) => typeof x === 'number')) return { problem: 'wrong_type' };
  if (features.length === 0) return { problem: 'empty_input' };
  return { input: { kind: 'features', features }, label: checkedLabel };
}

/** A slice name as the engine reads it (engine/data's `parseSlicesJsonl`): a non-empty string or a finite number. */
function isSliceName(slice: unknown): boolean {
  return (typeof slice === 'string' && slice !== '') || (typeof slice === 'number' && Number.isFinite(slice));
}

/** JSON text never holds raw control bytes other than tab, CR and LF: any other one means binary data. */
function hasControlBytes(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return true;
  }
  return false;
}

export function isProblem(result: DatasetRecord | RecordProblem): result is RecordProblem {
  return 'problem' in result;
}
