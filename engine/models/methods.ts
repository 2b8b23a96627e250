import type { Graph } from '../ir/index.ts';
import { findHead, weightsOnPathToOutput } from './params.ts';

/** How much of a model trains. `head` and `full` may also get a fresh head; see models/base.ts. */
export type Method = { kind: 'full' } | { kind: 'head' } | { kind: 'bitfit' } | { kind: 'freeze'; pattern: string };

export const methodUsage = 'full|head|bitfit|freeze:PATTERN';

export function parseMethod(text: string): Method {
  if (text === 'full' || text === 'head' || text === 'bitfit') return { kind: text };
  if (text.startsWith('freeze:')) {
    const pattern = text.slice('freeze:'.length);
    try {
      new RegExp(pattern);
    } catch (e) {
      throw new Error(
        `--method freeze:PATTERN: '${pattern}' is not a valid regular expression (${(e as Error).message})`,
      );
    }
    if (pattern === '') throw new Error('--method freeze:PATTERN needs a pattern, e.g. freeze:^0\\.');
    return { kind: 'freeze', pattern };
  }
  throw new Error(`unknown method '${text}' (expected ${methodUsage})`);
}

export function formatMethod(m: Method): string {
  return m.kind === 'freeze' ? `freeze:${m.pattern}` : m.kind;
}

/** Biases: the C input of a Gemm, a rank-1 operand of Add, the B input of a LayerNormalization. */
function biases(graph: Graph): Set<string> {
  const found = new Set<string>();
  for (const n of graph.nodes) {
    if (n.op === 'Gemm' && n.inputs[2]) found.add(n.inputs[2]);
    if (n.op === 'LayerNormalization' && n.inputs[2]) found.add(n.inputs[2]);
    if (n.op === 'Add') for (const i of n.inputs) if (graph.initializers.get(i)?.dims.length === 1) found.add(i);
  }
  return found;
}

/** The names of the initializers that `method` trains; every other initializer stays frozen in the graph. */
export function trainableParams(graph: Graph, method: Method): string[] {
  const weights = weightsOnPathToOutput(graph);
  let chosen: string[];
  switch (method.kind) {
    case 'full':
      chosen = weights;
      break;
    case 'head': {
      const head = findHead(graph);
      chosen = weights.filter((w) => w === head.weight || w === head.bias);
      break;
    }
    case 'bitfit': {
      const isBias = biases(graph);
      chosen = weights.filter((w) => isBias.has(w));
      break;
    }
    case 'freeze': {
      const frozen = new RegExp(method.pattern);
      chosen = weights.filter((w) => !frozen.test(w));
      break;
    }
  }
  if (chosen.length === 0) throw new Error(`method '${formatMethod(method)}' leaves no parameter to train`);
  return chosen;
}
