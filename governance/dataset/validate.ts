import { createHash } from 'node:crypto';
import { checks, FindingTally, type DatasetFile, type Finding, type FindingCode, type Severity } from './findings.ts';
import { DuplicateTables, type TableChecks, type TablesOptions } from './duplicate-tables.ts';
import { LineSplitter } from './lines.ts';
import { checkMislabels, MislabelSample } from './mislabels.ts';
import { findPii, type PiiKind } from './pii.ts';
import {
  parseManifest,
  parsePolicy,
  type DatasetManifest,
  type ValidationPolicy,
  type ValidationPolicyInput,
} from './policy.ts';
import { isProblem, parseRecord, type DatasetRecord } from './record.ts';
import { AsciiRecord, ParsedRecord, type ScannedRecord } from './scanned-record.ts';
import { TablesThread } from './tables-thread.ts';
import { PIECE_BYTES } from './text-kernel.ts';

// Validates a dataset in one streaming pass per file. Memory is bounded by the record size limit, the label
// counts and two sets of 64-bit hashes (6 to 10 bytes a record each, hash64-set.ts, spilling to disk past
// storeLimit): it never grows with the records' size. The training file's sets are kept while the eval and OOD files
// are checked against them (duplicate-tables.ts); a large dataset's sets run on a second thread (tables-thread.ts).
// Plain ASCII text records are checked from their bytes (ascii-record.ts); any other line is parsed and decoded,
// with the same results.

/** Each file's bytes; a chunk is read only until the next one is asked for, so a source may refill one buffer. */
export type DatasetSources = Partial<Record<DatasetFile, AsyncIterable<Uint8Array>>> & {
  train: AsyncIterable<Uint8Array>;
};

export type FileStats = {
  bytes: number;
  sha256: string;
  /** Lines that parsed into a usable record. */
  records: number;
  lines: number;
  /** Record count per label (labels as strings, e.g. `{"spam": 12, "ham": 40}`). */
  labels: Record<string, number>;
};

export type ValidationReport = {
  version: 1;
  passed: boolean;
  files: Partial<Record<DatasetFile, FileStats>> & { train: FileStats };
  findings: Finding[];
  policy: ValidationPolicy;
  manifest?: DatasetManifest;
  /**
   * With policy.mislabels.action 'drop': the training file's lines (1-based, ascending) to leave out of training,
   * the rows flagged `likely_mislabel` or `conflicting_duplicate`.
   */
  drop?: { train: number[] };
};

export type ValidateOptions = {
  policy?: ValidationPolicyInput;
  manifest?: DatasetManifest;
  /** Called as bytes are read, with the running total over all files. */
  onProgress?: (bytesRead: number) => void;
  /**
   * Hashes each of the training file's duplicate tables keeps in memory before it moves them to a file on disk
   * (default TRAIN_STORE_LIMIT); the eval and OOD files' tables keep an eighth of it.
   */
  storeLimit?: number;
  /**
   * The sources' total size, when known: a dataset of TABLES_THREAD_FROM_RECORDS records or more, as estimated from
   * it and the training file's first chunk, gets its duplicate tables on a thread of their own (tables-thread.ts).
   */
  expectedBytes?: number;
};

/**
 * From about this many records the duplicate tables get a thread. It starts in about 0.1 s and costs 8-15 MiB; on
 * short records the tables are about 40 % of a scan (3.67 M records of 3-9 words: 3.3-4.5 s against 5.9-8.1 s on
 * one thread), on 147 K records of 150-450 words they are too few to pay for it (3.5-4.2 s against 3.0-3.4 s).
 */
export const TABLES_THREAD_FROM_RECORDS = 1_000_000;

/**
 * About 28 MiB of hashes a table (7 bytes each with a label id): 3.67 M tiny records stay in memory, and past 4 M a
 * table costs its 8 MiB Bloom filter instead of 7 bytes a record, so the scan's memory stops growing
 * (docs/VALIDATION.md, "Memory and speed").
 */
const TRAIN_STORE_LIMIT = 1 << 22;

const PII_CODES: Record<PiiKind, FindingCode> = { email: 'pii_email', phone: 'pii_phone', card: 'pii_card' };

export async function validateDataset(
  sources: DatasetSources,
  options: ValidateOptions = {},
): Promise<ValidationReport> {
  const policy = parsePolicy(options.policy);
  const manifest = parseManifest(options.manifest);
  const tally = new FindingTally((code) => severityOf(code, policy), policy.maxExamples);
  let bytesRead = 0;
  const progress = (n: number) => {
    bytesRead += n;
    options.onProgress?.(bytesRead);
  };

  const mislabels = policy.mislabels.action === 'off' ? undefined : new MislabelsScan(policy);
  const tablesOptions: TablesOptions = {
    storeLimit: options.storeLimit ?? TRAIN_STORE_LIMIT,
    maxLabelId: mislabels ? policy.maxClasses : undefined,
    maxExamples: policy.maxExamples,
  };
  const { first, source: trainSource } = await withFirstChunk(sources.train);
  const tables = usesTablesThread(options.expectedBytes, first)
    ? new TablesThread(tablesOptions)
    : new DuplicateTables(tablesOptions);
  const context = { policy, tally, progress, tables };
  const { train, files } = await scanFiles({ ...sources, train: trainSource }, context, mislabels);
  checkClasses(train, policy, tally);
  checkLicence(manifest, policy, tally);
  const dropped = mislabels && (await mislabels.finish(train, policy, tally, () => options.onProgress?.(bytesRead)));

  const findings = tally.list();
  return {
    version: 1,
    passed: findings.every((f) => f.severity !== 'blocking'),
    files,
    findings,
    policy,
    ...(manifest ? { manifest } : {}),
    ...(policy.mislabels.action === 'drop' ? { drop: { train: dropped ?? [] } } : {}),
  };
}

/** The source's first chunk, and the source again from its start. */
async function withFirstChunk(source: AsyncIterable<Uint8Array>) {
  const chunks = source[Symbol.asyncIterator]();
  const head = await chunks.next();
  const first = head.done ? undefined : head.value;
  async function* again() {
    try {
      if (first) yield first; // before the source is asked for more, so still valid if it refills one buffer
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    } finally {
      await chunks.return?.(); // a scan that stops early closes the source
    }
  }
  return { first, source: again() };
}

/**
 * Whether a dataset of `expectedBytes` whose training file starts with `first` gets the tables thread: its records
 * estimated from the lines in `first` (none without a size or a chunk).
 */
export function usesTablesThread(expectedBytes: number | undefined, first: Uint8Array | undefined): boolean {
  if (!expectedBytes || !first || first.length === 0) return false;
  let lines = 0;
  for (let i = first.indexOf(10); i >= 0; i = first.indexOf(10, i + 1)) lines++;
  return (expectedBytes * lines) / first.length >= TABLES_THREAD_FROM_RECORDS;
}

/**
 * The training file, then the eval and OOD files checked against it. The duplicate tables are released when done
 * (or failed), before the mislabel check: its quick models need memory of their own.
 */
async function scanFiles(sources: DatasetSources, context: ScanContext, mislabels: MislabelsScan | undefined) {
  try {
    const train = await scanFile('train', sources.train, { ...context, mislabels });
    const files: ValidationReport['files'] = { train: train.stats };
    for (const file of ['eval', 'ood'] as const) {
      const source = sources[file];
      if (source) files[file] = (await scanFile(file, source, { ...context, train })).stats;
    }
    return { train, files };
  } finally {
    context.tables.release();
  }
}

function severityOf(code: FindingCode, policy: ValidationPolicy): Severity {
  const { severity } = checks[code];
  if (severity !== 'policy') return severity;
  if (code === 'licence_undeclared') return policy.allowedLicences ? 'blocking' : 'warning';
  if (code === 'likely_mislabel' || code === 'conflicting_duplicate') {
    return policy.mislabels.action === 'block' ? 'blocking' : 'warning';
  }
  return policy.piiSeverity;
}

type Scan = {
  stats: FileStats;
  inputKind?: DatasetRecord['input']['kind'];
  featureLength?: number;
  labelType?: string;
  labelCounts: Map<string, number>;
  labelsOverflowed: boolean;
  /** Label names by id, for the labels kept with the duplicate hashes (conflicting duplicates). */
  labelIds: Map<string, number>;
};

type ScanContext = {
  policy: ValidationPolicy;
  /** Exact and near-duplicate hashes: the training file's, kept for the eval and OOD files, and each file's own. */
  tables: TableChecks;
  tally: FindingTally;
  progress: (bytes: number) => void;
  /** The training file's scan, present while scanning eval and OOD files. */
  train?: Scan;
  /** While scanning the training file with policy.mislabels on. */
  mislabels?: MislabelsScan;
};

async function scanFile(file: DatasetFile, chunks: AsyncIterable<Uint8Array>, ctx: ScanContext): Promise<Scan> {
  const sha256 = createHash('sha256');
  let bytes = 0;

  ctx.tables.startFile(ctx.train !== undefined);
  const scan: Scan = {
    stats: { bytes: 0, sha256: '', records: 0, lines: 0, labels: {} },
    // Eval and OOD records must have the training file's shape.
    inputKind: ctx.train?.inputKind,
    featureLength: ctx.train?.featureLength,
    labelType: ctx.train?.labelType,
    labelCounts: new Map(),
    labelsOverflowed: false,
    labelIds: new Map(),
  };
  const labelRequired = file !== 'ood';
  const ascii = new AsciiRecord(ctx.policy);
  const splitter = new LineSplitter(ctx.policy.maxRecordBytes, (bytes, start, end, line) => {
    if (bytes === null) return ctx.tally.add(file, 'oversized_record', line);
    if (ascii.read(bytes, start, end, labelRequired)) return checkRecord(file, line, ascii, scan, ctx);
    const parsed = parseRecord(bytes.subarray(start, end), labelRequired);
    if (isProblem(parsed)) ctx.tally.add(file, parsed.problem, line);
    else checkRecord(file, line, new ParsedRecord(parsed, ctx.policy), scan, ctx);
  });
  for await (const chunk of chunks) {
    sha256.update(chunk);
    bytes += chunk.length;
    ctx.progress(chunk.length);
    for (let at = 0; at < chunk.length; at += PIECE_BYTES) {
      splitter.push(ascii.reader.hold(chunk, at, Math.min(at + PIECE_BYTES, chunk.length)));
    }
  }
  splitter.end();
  const found = ctx.tables.endFile();
  for (const { code, count, examples } of found.counts) ctx.tally.addCounted(file, code, count, examples);
  for (let i = 0; i < found.conflicts.length; i += 3) {
    const [line, labelId, earlier] = found.conflicts.slice(i, i + 3);
    ctx.mislabels?.conflict(line, labelId, earlier, scan, ctx.tally);
  }
  const lines = splitter.lines;

  if (scan.stats.records === 0) ctx.tally.addSummary(file, 'empty_file', 1);
  scan.stats = {
    bytes,
    sha256: sha256.digest('hex'),
    records: scan.stats.records,
    lines,
    labels: Object.fromEntries([...scan.labelCounts].sort(([a], [b]) => a.localeCompare(b))),
  };
  return scan;
}

function checkRecord(file: DatasetFile, line: number, record: ScannedRecord, scan: Scan, ctx: ScanContext): void {
  const { kind, label } = record;
  const { policy, tally, train } = ctx;
  scan.inputKind ??= kind;
  if (kind !== scan.inputKind) return tally.add(file, 'mixed_input_kinds', line);
  if (kind === 'features') {
    scan.featureLength ??= record.featureCount;
    if (record.featureCount !== scan.featureLength) return tally.add(file, 'feature_length_mismatch', line);
  }
  scan.stats.records += 1;

  if (label !== undefined) {
    scan.labelType ??= typeof label;
    if (typeof label !== scan.labelType) tally.add(file, 'mixed_label_types', line);
    countLabel(String(label), scan, policy);
    if (file === 'eval' && train && !train.labelCounts.has(String(label))) tally.add(file, 'unknown_label', line);
  }

  const labelId = ctx.mislabels && label !== undefined ? labelIdOf(String(label), scan, policy) : undefined;
  ctx.tables.check(line, record.exact, record.near, labelId);
  if (ctx.mislabels && label !== undefined) ctx.mislabels.sample.offer(line, kind, String(label), record);

  if (record.mayHoldPii) {
    const input = record.input();
    if (input.kind === 'text') for (const pii of findPii(input.text)) tally.add(file, PII_CODES[pii], line);
  }
}

/** The label's id, or undefined past policy.maxClasses labels (that is `too_many_classes`, and bounds the map). */
function labelIdOf(key: string, scan: Scan, policy: ValidationPolicy): number | undefined {
  let id = scan.labelIds.get(key);
  if (id === undefined && scan.labelIds.size < policy.maxClasses) scan.labelIds.set(key, (id = scan.labelIds.size));
  return id;
}

/** The training file's label checks: conflicting duplicates as the scan finds them, then confident learning. */
class MislabelsScan {
  readonly sample: MislabelSample;
  private readonly conflicting: number[] = [];

  constructor(private readonly policy: ValidationPolicy) {
    this.sample = new MislabelSample(policy.mislabels.maxRows, policy.mislabels.seed);
  }

  /** A duplicate at `line` labelled `labelId`, of an earlier record labelled `earlier` (another label). */
  conflict(line: number, labelId: number, earlier: number, scan: Scan, tally: FindingTally) {
    const names = [...scan.labelIds.keys()];
    const row = { line, label: names[labelId], suggested: names[earlier] };
    tally.addRow('train', 'conflicting_duplicate', row, this.policy.mislabels.reportRows);
    this.conflicting.push(line);
  }

  /** Trains the quick models and reports their findings; returns the lines to drop (all flagged ones). */
  async finish(train: Scan, policy: ValidationPolicy, tally: FindingTally, onProgress: () => void): Promise<number[]> {
    const lines = new Set(this.conflicting);
    // A file that is blocked already (unparseable, one class, mixed inputs) is not worth training on.
    const blocked = tally
      .list()
      .some((f) => f.severity === 'blocking' && f.file === 'train' && f.code !== 'conflicting_duplicate');
    if (blocked || train.stats.records === 0) return [...lines].sort((a, b) => a - b);
    const result = await checkMislabels(this.sample, policy, onProgress);
    if (!result.checked) {
      // Too small a file is not worth a warning; anything else that stops the check is.
      if (train.stats.records >= policy.mislabels.minRows)
        tally.addSummary('train', 'mislabels_not_checked', 1, result.reason);
      return [...lines].sort((a, b) => a - b);
    }
    for (const row of result.flagged) {
      tally.addRow('train', 'likely_mislabel', row, policy.mislabels.reportRows);
      lines.add(row.line);
    }
    if (result.flagged.length > 0) {
      const share =
        result.sampled < train.stats.records
          ? `a sample of ${result.sampled} of ${train.stats.records} records`
          : `${result.sampled} records`;
      const dropped = policy.mislabels.action === 'drop' ? '; dropped from training' : '';
      tally.describe(
        'train',
        'likely_mislabel',
        `${result.flagged.length} in ${share}, ${policy.mislabels.folds}-fold${dropped}`,
      );
    }
    return [...lines].sort((a, b) => a - b);
  }
}

function countLabel(key: string, scan: Scan, policy: ValidationPolicy): void {
  const count = scan.labelCounts.get(key);
  if (count !== undefined) scan.labelCounts.set(key, count + 1);
  else if (scan.labelCounts.size < policy.maxClasses) scan.labelCounts.set(key, 1);
  else scan.labelsOverflowed = true;
}

function checkClasses(train: Scan, policy: ValidationPolicy, tally: FindingTally): void {
  const { records } = train.stats;
  if (records === 0) return;
  if (train.labelsOverflowed) tally.addSummary('train', 'too_many_classes', 1, `more than ${policy.maxClasses}`);
  const classes = train.labelCounts.size;
  if (classes < policy.minClasses) {
    tally.addSummary('train', 'too_few_classes', 1, `${classes} found, at least ${policy.minClasses} needed`);
    return;
  }
  const small = [...train.labelCounts].filter(([, count]) => count / records < policy.minClassShare);
  if (small.length > 0) {
    const list = small.map(([label, count]) => `'${label}' ${count} of ${records} (${percent(count / records)})`);
    const detail = `${list.slice(0, 10).join(', ')}${small.length > 10 ? ', ...' : ''}; minimum ${percent(policy.minClassShare)}`;
    tally.addSummary('train', 'class_imbalance', small.length, detail);
  }
}

function checkLicence(manifest: DatasetManifest | undefined, policy: ValidationPolicy, tally: FindingTally): void {
  const licence = manifest?.licence;
  if (!licence) return tally.addSummary('train', 'licence_undeclared', 1);
  const allowed = policy.allowedLicences;
  if (allowed && !allowed.some((l) => l.toLowerCase() === licence.toLowerCase())) {
    tally.addSummary('train', 'licence_not_allowed', 1, `'${licence}' (allowed: ${allowed.join(', ')})`);
  }
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
