import { Hash64Set, workspaceBytes, type Hash64SetOptions } from './hash64-set.ts';
import type { Hash64 } from './hash64.ts';

// The duplicate tables of one validation: the training file's exact and near-duplicate hashes, kept while the eval
// and OOD files are checked against them, and each of those files' own. Every record's hashes go through check(),
// in line order; what it finds comes back per file from endFile(). The tables are most of a scan's work on short
// records, so a large validation runs them on a thread of their own (tables-thread.ts) through this same class.

/** The table findings counted per code: occurrences and the first lines. */
export type TableCode = 'exact_duplicate' | 'near_duplicate' | 'contamination';

export type TableFindings = {
  counts: { code: TableCode; count: number; examples: number[] }[];
  /** Duplicates of an earlier record with another label, in line order: [line, label id, earlier label id] each. */
  conflicts: number[];
};

export type TablesOptions = {
  /** Hashes a training-file table keeps in memory before it spills to disk (Hash64Set storeLimit). */
  storeLimit: number;
  /** Keep each training hash's label id, up to this (for conflicting duplicates); unset: no label ids. */
  maxLabelId?: number;
  /** Example lines kept per finding code. */
  maxExamples: number;
  /** Memory for the training file's exact and near tables' work (Hash64SetOptions.workspace, trainWorkspaceBytes). */
  workspaces?: { exact: ArrayBufferLike; near: ArrayBufferLike };
};

/** A training-file table's options, less its workspace. */
function trainTableOptions({ storeLimit, maxLabelId }: TablesOptions): Hash64SetOptions {
  return { storeLimit, maxValue: maxLabelId };
}

/** The bytes of each of the training file's tables' workspaces (TablesOptions.workspaces). */
export function trainWorkspaceBytes(options: TablesOptions): number {
  return workspaceBytes(trainTableOptions(options));
}

/** What validate.ts's scan asks of the tables, here or on their thread. */
export interface TableChecks {
  /** A new file: the training file (first), or an eval/OOD file checked against it (`held`). */
  startFile(held: boolean): void;
  check(line: number, exact: Hash64, near: Hash64 | undefined, labelId: number | undefined): void;
  /** The file's findings; a held file's own tables are released. */
  endFile(): TableFindings;
  /** Gives every table's memory back, and deletes what they spilled to disk. */
  release(): void;
}

export class DuplicateTables implements TableChecks {
  private train: { exact: Hash64Set; near: Hash64Set } | undefined;
  private current: { exact: Hash64Set; near: Hash64Set; held: boolean } | undefined;
  private counts = new Map<TableCode, { code: TableCode; count: number; examples: number[] }>();
  private conflicts: number[] = [];

  constructor(private readonly options: TablesOptions) {}

  startFile(held: boolean): void {
    const { storeLimit, workspaces } = this.options;
    if (held) {
      // An eval or OOD file's tables are held beside the training file's: smaller tables, a smaller filter.
      const limits = {
        storeLimit: Math.max(1, Math.floor(storeLimit / 8)),
        pendingLimit: 1 << 16,
        bloomBytes: 1 << 21,
      };
      this.current = { exact: new Hash64Set(limits), near: new Hash64Set(limits), held };
      return;
    }
    const limits = trainTableOptions(this.options);
    this.current = {
      exact: new Hash64Set({ ...limits, workspace: workspaces?.exact }),
      near: new Hash64Set({ ...limits, workspace: workspaces?.near }),
      held,
    };
    this.train = this.current;
  }

  check(line: number, exact: Hash64, near: Hash64 | undefined, labelId: number | undefined): void {
    const tables = this.current!;
    const { train } = this;
    if (tables.held && train && (train.exact.has(exact) || (near && train.near.has(near)))) {
      this.count('contamination', line);
    }
    if (!tables.exact.add(exact, labelId)) {
      this.count('exact_duplicate', line);
      this.conflict(line, labelId, tables.exact.valueOf(exact));
    } else if (near && !tables.near.add(near, labelId)) {
      this.count('near_duplicate', line);
      this.conflict(line, labelId, tables.near.valueOf(near));
    }
  }

  endFile(): TableFindings {
    const findings = { counts: [...this.counts.values()], conflicts: this.conflicts };
    this.counts = new Map();
    this.conflicts = [];
    if (this.current?.held) clearTables(this.current);
    this.current = undefined;
    return findings;
  }

  release(): void {
    if (this.current) clearTables(this.current);
    if (this.train) clearTables(this.train);
    this.current = this.train = undefined;
  }

  private count(code: TableCode, line: number): void {
    let entry = this.counts.get(code);
    if (!entry) this.counts.set(code, (entry = { code, count: 0, examples: [] }));
    entry.count += 1;
    if (entry.examples.length < this.options.maxExamples) entry.examples.push(line);
  }

  private conflict(line: number, labelId: number | undefined, earlier: number | undefined): void {
    if (this.options.maxLabelId === undefined || labelId === undefined || earlier === undefined) return;
    if (labelId !== earlier) this.conflicts.push(line, labelId, earlier);
  }
}

function clearTables(tables: { exact: Hash64Set; near: Hash64Set }): void {
  tables.exact.clear();
  tables.near.clear();
}
