// Arithmetic on dims that may be symbolic: products and sums of symbols become expressions ('batch*4').
import type { Dim } from './types.ts';

/** The product of dims; symbolic factors make an expression such as 'batch*seq*4'. */
export function dimProduct(dims: readonly Dim[]): Dim {
  const symbols = dims.filter((d): d is string => typeof d === 'string');
  const n = dims.reduce<number>((p, d) => (typeof d === 'number' ? p * d : p), 1);
  if (symbols.length === 0) return n;
  if (n === 0) return 0;
  return n === 1 ? symbols.join('*') : [...symbols, n].join('*');
}

export function dimSum(dims: readonly Dim[]): Dim {
  return dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((a, b) => a + b, 0) : dims.join('+');
}

/** Numpy-style broadcast of shapes; two different symbols are assumed equal at run time. */
export function broadcastShapes(...shapes: Dim[][]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const e = s[s.length - rank + i] ?? 1;
      if (e === 1) continue;
      if (d === 1 || typeof d === 'string') d = e;
      else if (typeof e === 'number' && e !== d)
        throw new Error(`cannot broadcast shapes ${shapes.map((s) => `[${s}]`).join(', ')}`);
    }
    out.push(d);
  }
  return out;
}

/** A possibly negative axis as an index into a shape of `rank` dims. */
export const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
