import type { Attr, TensorData } from './types.ts';

// ONNX attributes are typed (INT vs FLOAT), JS numbers are not: 1 could be either. So floats are always
// wrapped with float()/floats(); a bare integer number is taken as an int (see toAttr).
export const int = (value: number): Attr => ({ kind: 'int', value });
export const float = (value: number): Attr => ({ kind: 'float', value });
export const ints = (value: number[]): Attr => ({ kind: 'ints', value: [...value] });
export const floats = (value: number[]): Attr => ({ kind: 'floats', value: [...value] });
export const str = (value: string): Attr => ({ kind: 'string', value });
export const tensorAttr = (value: TensorData): Attr => ({ kind: 'tensor', value });

export type AttrInput = Attr | number | number[] | string;

/** Turns a shorthand into an Attr: strings → string, integer numbers → int/ints; any other number is refused. */
export function toAttr(name: string, v: AttrInput): Attr {
  if (typeof v === 'string') return str(v);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute '${name}': ${v} is not an integer; wrap floats in float()`);
    return int(v);
  }
  if (Array.isArray(v)) {
    if (!v.every(Number.isInteger)) throw new Error(`attribute '${name}': [${v}] holds non-integers; use floats()`);
    return ints(v);
  }
  return v;
}

type AttrValue = { [A in Attr as A['kind']]: A['value'] };

/** Reads an attribute of a known kind, or `fallback` when absent. */
export function attrValue<K extends Attr['kind']>(
  attrs: Record<string, Attr>,
  name: string,
  kind: K,
  fallback: AttrValue[K],
): AttrValue[K] {
  const a = attrs[name];
  if (a === undefined) return fallback;
  if (a.kind !== kind) throw new Error(`attribute '${name}' is ${a.kind}, expected ${kind}`);
  return a.value as AttrValue[K];
}
