// Accuracy by subgroup of the eval rows, for two models side by side: a candidate can win on average and lose a
// class or a declared slice (a region, a source) outright. Subgroups are ranked worst change first.

export interface SliceScore {
  /** `class`: the rows of one true class (accuracy there is the class's recall); `slice`: a declared slice. */
  kind: 'class' | 'slice';
  name: string;
  rows: number;
  candidate_accuracy: number;
  production_accuracy: number;
  /** candidate − production: negative where the candidate does worse. */
  change: number;
}

/**
 * Each class's and each declared slice's accuracy for both models, ranked by change (the worst regression first;
 * ties by kind, then name). `slices[i]` is row i's slice, null for none.
 */
export function sliceScores(
  labels: ArrayLike<number>,
  candidate: ArrayLike<number>,
  production: ArrayLike<number>,
  labelNames: readonly string[],
  slices?: readonly (string | null)[],
): SliceScore[] {
  if (slices && slices.length !== labels.length) {
    throw new RangeError(`sliceScores: ${slices.length} slices for ${labels.length} rows`);
  }
  const groups = new Map<string, { kind: SliceScore['kind']; name: string; rows: number; c: number; p: number }>();
  const add = (kind: SliceScore['kind'], name: string, i: number) => {
    const key = `${kind}\u0000${name}`;
    const group = groups.get(key) ?? { kind, name, rows: 0, c: 0, p: 0 };
    group.rows++;
    if (candidate[i] === labels[i]) group.c++;
    if (production[i] === labels[i]) group.p++;
    groups.set(key, group);
  };
  for (let i = 0; i < labels.length; i++) {
    add('class', labelNames[labels[i]], i);
    const slice = slices?.[i];
    if (slice !== null && slice !== undefined) add('slice', slice, i);
  }
  return [...groups.values()]
    .map(({ kind, name, rows, c, p }) => ({
      kind,
      name,
      rows,
      candidate_accuracy: c / rows,
      production_accuracy: p / rows,
      change: c / rows - p / rows,
    }))
    .sort((a, b) => a.change - b.change || a.kind.localeCompare(b.kind) || (a.name < b.name ? -1 : 1));
}
