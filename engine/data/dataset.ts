// Tabular datasets: JSON Lines of `{"features": number[], "label": string | number}` become one row-major
// Float32Array (what an ONNX `features` input takes) and one Int32Array of class indices.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InvalidInput } from '../invalid-input.ts';

export interface TabularDataset {
  rows: number;
  width: number;
  /** rows × width, row-major. */
  features: Float32Array;
  /** Class index of each row: an index into `labelNames`. */
  labels: Int32Array;
  /** The label map: index → label as a string. */
  labelNames: string[];
}

export interface ParseOptions {
  /** The label map to use (e.g. a base model's); a label outside it is an error. Default: the data's own labels. */
  labelNames?: readonly string[];
  /** Names the data in error messages, e.g. the file name. */
  source?: string;
}

/** Bad input, located: `line` is 1-based. */
export class DatasetError extends InvalidInput {
  override name = 'DatasetError';
  constructor(
    readonly source: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${source}:${line}: ${problem}`);
  }
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The label map a dataset gets when none is given: its distinct labels sorted, numerically when every label is a
 * JSON number (so 2 comes before 10), otherwise by code unit.
 */
export function labelNamesOf(labels: readonly (string | number)[]): string[] {
  const distinct = [...new Set(labels)];
  if (distinct.every((l) => typeof l === 'number')) {
    return (distinct as number[]).sort((a, b) => a - b).map(String);
  }
  return [...new Set(distinct.map(String))].sort();
}

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}

/** A record's label, when it is one: a non-empty string or a finite number. */
export function isLabel(label: unknown): label is string | number {
  return (typeof label === 'string' && label !== '') || (typeof label === 'number' && Number.isFinite(label));
}

/** The error for a record whose label is missing or not a label. */
export const badLabel = (label: unknown) => `"label" must be a non-empty string or a number, got ${describe(label)}`;

/**
 * Visits each non-blank line of JSONL `text` (BOM and CRLF tolerated) as an object, with its 1-based line number
 * and a `fail` that throws a DatasetError at that line; `shape` shows the expected record in the error for a line
 * that is not an object. Returns the number of lines.
 */
export function forEachJsonlObject(
  text: string,
  source: string,
  shape: string,
  visit: (record: Record<string, unknown>, line: number, fail: (problem: string) => never) => void,
): number {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const fail = (problem: string): never => {
      throw new DatasetError(source, i + 1, problem);
    };
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      fail(`not valid JSON (${(err as Error).message})`);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      fail(`expected an object ${shape}, got ${describe(record)}`);
    }
    visit(record as Record<string, unknown>, i + 1, fail);
  });
  return lines.length;
}

function listed(names: readonly string[]): string {
  const shown = names.slice(0, 20).map((n) => JSON.stringify(n));
  return shown.join(', ') + (names.length > 20 ? `, … (${names.length} in all)` : '');
}

/** Rows of features without labels: what a model is run on when only its outputs matter (e.g. OOD rows). */
export type FeatureRows = Pick<TabularDataset, 'rows' | 'width' | 'features'>;

type ScannedRows = FeatureRows & { rawLabels: (string | number)[]; lineOfRow: number[] };

/** Parses JSONL text; throws a `DatasetError` naming the line and the problem for any bad record. */
export function parseTabularJsonl(text: string, options: ParseOptions = {}): TabularDataset {
  const source = options.source ?? 'dataset';
  const { rows, width, features, rawLabels, lineOfRow } = scanJsonl(text, source, 'required');
  const labelNames = options.labelNames ? [...options.labelNames] : labelNamesOf(rawLabels);
  if (new Set(labelNames).size !== labelNames.length) {
    throw new Error(`the label map given for ${source} has duplicate labels: ${listed(labelNames)}`);
  }
  const indexOf = new Map(labelNames.map((name, i) => [name, i]));
  const labels = new Int32Array(rawLabels.length);
  rawLabels.forEach((label, r) => {
    const index = indexOf.get(String(label));
    if (index === undefined) {
      throw new DatasetError(
        source,
        lineOfRow[r],
        `label ${JSON.stringify(String(label))} is not in the label map (${listed(labelNames)})`,
      );
    }
    labels[r] = index;
  });

  return { rows, width, features, labels, labelNames };
}

/**
 * Parses JSONL features of an unlabelled set (an OOD file): the same record checks as `parseTabularJsonl`, but a
 * `label` may be absent and is ignored when present.
 */
export function parseFeatureRowsJsonl(text: string, options: { source?: string } = {}): FeatureRows {
  const { rows, width, features } = scanJsonl(text, options.source ?? 'dataset', 'ignored');
  return { rows, width, features };
}

/**
 * Each record's optional `slice` (a subgroup the evaluation reports separately: a region, a source), in record
 * order, as `parseTabularJsonl` and `parseTextJsonl` order their rows; null where a record has none. A slice is a
 * non-empty string or a finite number (read as its string); anything else is an error naming the line.
 */
export function parseSlicesJsonl(text: string, options: { source?: string } = {}): (string | null)[] {
  const slices: (string | null)[] = [];
  forEachJsonlObject(text, options.source ?? 'dataset', '{"slice": ...}', ({ slice }, _line, fail) => {
    if (slice === undefined || slice === null) return void slices.push(null);
    if (!isLabel(slice)) fail(`"slice" must be a non-empty string or a number, got ${describe(slice)}`);
    slices.push(String(slice));
  });
  return slices;
}

/** The records' features, and with `labels: 'required'` their raw labels; lines are 1-based in errors. */
function scanJsonl(text: string, source: string, labels: 'required' | 'ignored'): ScannedRows {
  let width = -1;
  let features = new Float32Array(0);
  const rawLabels: (string | number)[] = [];
  const lineOfRow: number[] = [];

  const lineCount = forEachJsonlObject(text, source, '{"features": [...], "label": ...}', (record, lineNo, fail) => {
    const { features: values, label } = record;
    if (!Array.isArray(values) || values.length === 0) {
      fail(`"features" must be a non-empty array of numbers, got ${describe(values)}`);
    }
    const row = values as unknown[];
    if (width === -1) width = row.length;
    if (row.length !== width) {
      fail(`"features" has ${row.length} values but earlier rows have ${width}`);
    }
    const rowIndex = lineOfRow.length;
    if (features.length < (rowIndex + 1) * width) {
      const grown = new Float32Array(Math.max(features.length * 2, 64 * width));
      grown.set(features);
      features = grown;
    }
    row.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v))
        fail(`"features"[${j}] must be a finite number, got ${describe(v)}`);
      if (Math.abs(v as number) > FLOAT32_MAX) fail(`"features"[${j}] = ${v} overflows float32`);
      features[rowIndex * width + j] = v as number;
    });

    if (labels === 'required') {
      if (!isLabel(label)) fail(badLabel(label));
      rawLabels.push(label as string | number);
    }
    lineOfRow.push(lineNo);
  });

  if (lineOfRow.length === 0) throw new DatasetError(source, lineCount, 'no records');
  const rows = lineOfRow.length;
  return { rows, width, features: features.slice(0, rows * width), rawLabels, lineOfRow };
}

/** Reads and parses a JSONL file; errors name the file by its base name. */
export async function loadTabularJsonl(path: string, options: Omit<ParseOptions, 'source'> = {}) {
  return parseTabularJsonl(await readFile(path, 'utf8'), { ...options, source: basename(path) });
}

/** Copies the given rows out, in the given order: a batch ready to feed. */
export function takeRows(
  data: TabularDataset,
  indices: ArrayLike<number>,
): { features: Float32Array; labels: Int32Array } {
  const { width } = data;
  const features = new Float32Array(indices.length * width);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    if (!Number.isInteger(r) || r < 0 || r >= data.rows) {
      throw new RangeError(`row index ${r} is outside the dataset's ${data.rows} rows`);
    }
    features.set(data.features.subarray(r * width, (r + 1) * width), i * width);
    labels[i] = data.labels[r];
  }
  return { features, labels };
}

/**
 * Consecutive slices of `indices` of `batchSize` each; the last one is shorter when the size does not divide
 * evenly, unless `dropLast` asks to skip it.
 */
export function* batches(
  indices: Int32Array,
  batchSize: number,
  options: { dropLast?: boolean } = {},
): Generator<Int32Array> {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  }
  for (let start = 0; start < indices.length; start += batchSize) {
    const end = Math.min(start + batchSize, indices.length);
    if (options.dropLast && end - start < batchSize) return;
    yield indices.subarray(start, end);
  }
}
