// The layout of docs/ARCHITECTURE.md as rules over the real import graph: which folder may import which, workflow
// code importing only types from outside workflows/ (so the Temporal bundle stays deterministic), and no import
// cycle between files. A forbidden arrow fails here with the file and the import that breaks the rule.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** Product folders and the folders each may import from (itself always allowed). Tests and benches may use any. */
const ALLOWED: Record<string, readonly string[]> = {
  engine: [],
  governance: ['engine'],
  core: ['governance', 'engine'],
  activities: ['core', 'governance', 'engine'],
  workflows: ['core', 'activities', 'governance', 'engine'],
  api: ['core', 'workflows', 'governance', 'engine'],
  infra: ['api', 'workflows', 'activities', 'core', 'governance', 'engine'],
};

type Import = { from: string; to: string; typeOnly: boolean };

const IMPORT =
  /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

/** Every relative import of the repository's TypeScript, resolved to repository paths. */
function imports(): Import[] {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '*.ts'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  return files.flatMap((file) =>
    [...readFileSync(join(root, file), 'utf8').matchAll(IMPORT)].map((m) => {
      const specifier = m[4] ?? m[5] ?? m[6];
      const named = m[3] ?? '';
      // `import type {…}`, or every name in the braces marked `type`.
      const everyNameTyped =
        /^\{.*\}$/s.test(named) &&
        named
          .slice(1, -1)
          .split(',')
          .filter((n) => n.trim())
          .every((n) => /^\s*type\s/.test(n));
      return {
        from: file,
        to: relative(root, join(root, dirname(file), specifier)),
        typeOnly: m[2] !== undefined || (m[4] !== undefined && everyNameTyped),
      };
    }),
  );
}

const folder = (path: string) => path.split('/')[0];

/** The strongly connected components of more than one file (Tarjan), each a cycle of imports. */
function cycles(edges: Import[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('architecture', () => {
  const all = imports();
  const product = all.filter((e) => folder(e.from) in ALLOWED);

  it('finds the imports it checks (the parser reads this repository)', () => {
    expect(product.filter((e) => folder(e.from) === 'api' && folder(e.to) === 'core').length).toBeGreaterThan(5);
    expect(product.some((e) => folder(e.from) === 'workflows' && e.typeOnly)).toBe(true);
  });

  it('each folder imports only the folders its row allows', () => {
    const forbidden = product
      .filter((e) => folder(e.to) !== folder(e.from) && folder(e.to) in ALLOWED)
      .filter((e) => !ALLOWED[folder(e.from)].includes(folder(e.to)))
      .map((e) => `${e.from} -> ${e.to}`);
    expect(forbidden).toEqual([]);
  });

  it('product code imports no tests or benches', () => {
    const reaching = product.filter((e) => ['test', 'bench'].includes(folder(e.to))).map((e) => `${e.from} -> ${e.to}`);
    expect(reaching).toEqual([]);
  });

  it('workflow code imports only types from outside workflows/', () => {
    const values = product
      .filter((e) => folder(e.from) === 'workflows' && folder(e.to) !== 'workflows' && !e.typeOnly)
      .map((e) => `${e.from} -> ${e.to}`);
    expect(values).toEqual([]);
  });

  it("the edge entry's code loads no onnxruntime-node (a native addon: it does not bundle for an edge runtime)", () => {
    const values = new Map<string, string[]>();
    for (const e of all.filter((e) => !e.typeOnly)) values.set(e.from, [...(values.get(e.from) ?? []), e.to]);
    const seen = new Set<string>();
    const path = new Map<string, string>([['api/edge.ts', 'api/edge.ts']]);
    const queue = ['api/edge.ts'];
    while (queue.length) {
      const file = queue.shift()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const to of values.get(file) ?? []) {
        if (!path.has(to)) path.set(to, `${path.get(file)} -> ${to}`);
        queue.push(to);
      }
    }
    expect(seen.size).toBeGreaterThan(20);
    const loadsOrt = (file: string) =>
      /^\s*import\s+(?!type\s)[^;]*?from\s*['"]onnxruntime-node['"]/m.test(readFileSync(join(root, file), 'utf8'));
    expect([...seen].filter(loadsOrt).map((file) => path.get(file))).toEqual([]);
  });

  it('no import cycle between files', () => {
    expect(cycles(all.filter((e) => !e.from.startsWith('test/')))).toEqual([]);
  });
});
