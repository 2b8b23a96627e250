// Text classification data: JSON Lines of `{"text": "...", "label": "spam"}`, and its encoding into the named
// inputs a text model takes.
import { DatasetError, badLabel, forEachJsonlObject, isLabel, labelNamesOf, type ParseOptions } from '../data/index.ts';
import type { InputDataset } from '../train/examples.ts';
import type { TextEncoder } from './encode.ts';

export interface TextDataset {
  texts: string[];
  /** Class index of each text: an index into `labelNames`. */
  labels: Int32Array;
  labelNames: string[];
}

/** Parses JSONL text records; a bad record is a `DatasetError` naming the line and the problem. */
export function parseTextJsonl(text: string, options: ParseOptions = {}): TextDataset {
  const source = options.source ?? 'dataset';
  const { texts, rawLabels, lineOfRow } = readTextRecords(text, source, true);
  const labelNames = options.labelNames ? [...options.labelNames] : labelNamesOf(rawLabels);
  const indexOf = new Map(labelNames.map((name, i) => [name, i]));
  const labels = Int32Array.from(rawLabels, (label, r) => {
    const index = indexOf.get(String(label));
    if (index === undefined) {
      throw new DatasetError(
        source,
        lineOfRow[r],
        `label ${JSON.stringify(String(label))} is not in the label map (${labelNames.map((l) => JSON.stringify(l)).join(', ')})`,
      );
    }
    return index;
  });
  return { texts, labels, labelNames };
}

/** The texts of JSONL text records whose labels, if any, are ignored (e.g. an OOD file); bad records as above. */
export function parseTextsJsonl(text: string, options: { source?: string } = {}): string[] {
  return readTextRecords(text, options.source ?? 'dataset', false).texts;
}

/** Each record's text, label and 1-based line; without `labelled` a label is not checked (and may be absent). */
function readTextRecords(text: string, source: string, labelled: boolean) {
  const texts: string[] = [];
  const rawLabels: (string | number)[] = [];
  const lineOfRow: number[] = [];
  forEachJsonlObject(text, source, '{"text": "...", "label": ...}', (record, line, fail) => {
    const { text: value, label } = record;
    if (typeof value !== 'string') {
      fail(
        `"text" must be a string, got ${value === undefined ? 'missing' : JSON.stringify(value).slice(0, 80)}` +
          ('features' in record ? ' (this looks like feature data, not text)' : ''),
      );
    }
    if (labelled && !isLabel(label)) fail(badLabel(label));
    texts.push(value as string);
    rawLabels.push(label as string | number);
    lineOfRow.push(line);
  });
  if (texts.length === 0) throw new DatasetError(source, 1, 'no records');
  return { texts, rawLabels, lineOfRow };
}

/** The texts as a text model's inputs, ready for the trainer and the scorer. */
export function encodeDataset(data: TextDataset, encoder: TextEncoder): InputDataset {
  return {
    rows: data.texts.length,
    labels: data.labels,
    labelNames: data.labelNames,
    ...(encoder.encodeRows
      ? { inputs: encoder.encodeRows(data.texts) }
      : { inputs: encoder.encode(data.texts), ...(encoder.paddedBy ? { paddedBy: encoder.paddedBy } : {}) }),
  };
}

/** The texts at `indices`, in that order (for held-out splits made before a tokeniser learns). */
export function pickTexts(data: TextDataset, indices: ArrayLike<number>): TextDataset {
  const picked = Array.from(indices);
  return { ...data, texts: picked.map((i) => data.texts[i]), labels: Int32Array.from(picked, (i) => data.labels[i]) };
}
