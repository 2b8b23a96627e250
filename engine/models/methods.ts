import type { Graph, Model } from '../ir/index.ts';
import { adapterNames, injectLora } from './lora.ts';
import { findHead, weightsOnPathToOutput } from './params.ts';
import { InvalidInput } from '../invalid-input.ts';

/**
 * How much of a model trains. `head` and `full` may also get a fresh head; see models/base.ts. `lora` trains
 * adapters on the weights matching `target` and, with `head`, the head in full instead of through an adapter.
 */
export type Method =
  | { kind: 'full' }
  | { kind: 'head' }
  | { kind: 'bitfit'; head?: boolean }
  | { kind: 'freeze'; pattern: string }
  | { kind: 'lora'; rank: number; alpha: number; target: string; head: boolean };

export const methodUsage = 'full|head|bitfit|freeze:PATTERN|lora[:RANK][,alpha=A][,head][,target=REGEX]';

const LORA_RANK = 8;

/**
 * `lora[:RANK][,alpha=A][,head][,target=REGEX]`; the target comes last and takes the rest of the text, so the
 * expression may hold commas. Alpha defaults to the rank (scale 1), the target to every MatMul/Gemm weight.
 */
function parseLora(text: string): Method {
  const usage = `--method ${methodUsage.split('|').at(-1)}`;
  const targetAt = text.indexOf(',target=');
  const target = targetAt === -1 ? '.' : text.slice(targetAt + ',target='.length);
  const [head, ...options] = (targetAt === -1 ? text : text.slice(0, targetAt)).split(',');
  const rankText = head === 'lora' ? String(LORA_RANK) : head.slice('lora:'.length);
  const rank = Number(rankText);
  if (!/^[0-9]+$/.test(rankText) || rank < 1)
    throw new InvalidInput(`${usage}: rank must be a positive integer, got '${rankText}'`);
  let alpha = rank;
  let trainHead = false;
  for (const option of options) {
    if (option === 'head') trainHead = true;
    else if (option.startsWith('alpha=')) {
      alpha = Number(option.slice('alpha='.length));
      if (!(Number.isFinite(alpha) && alpha > 0))
        throw new InvalidInput(`${usage}: alpha must be a number > 0, got '${option}'`);
    } else throw new InvalidInput(`${usage}: unknown option '${option}'`);
  }
  try {
    new RegExp(target);
  } catch (e) {
    throw new InvalidInput(`${usage}: '${target}' is not a valid regular expression (${(e as Error).message})`);
  }
  if (target === '') throw new InvalidInput(`${usage}: target needs a pattern`);
  return { kind: 'lora', rank, alpha, target, head: trainHead };
}

export function parseMethod(text: string): Method {
  if (text === 'full' || text === 'head' || text === 'bitfit') return { kind: text };
  if (text === 'lora' || text.startsWith('lora:') || text.startsWith('lora,')) return parseLora(text);
  if (text.startsWith('freeze:')) {
    const pattern = text.slice('freeze:'.length);
    try {
      new RegExp(pattern);
    } catch (e) {
      throw new InvalidInput(
        `--method freeze:PATTERN: '${pattern}' is not a valid regular expression (${(e as Error).message})`,
      );
    }
    if (pattern === '') throw new InvalidInput('--method freeze:PATTERN needs a pattern, e.g. freeze:^0\\.');
    return { kind: 'freeze', pattern };
  }
  throw new InvalidInput(`unknown method '${text}' (expected ${methodUsage})`);
}

export function formatMethod(m: Method): string {
  if (m.kind === 'freeze') return `freeze:${m.pattern}`;
  if (m.kind === 'lora') return `lora:${m.rank},alpha=${m.alpha}${m.head ? ',head' : ''},target=${m.target}`;
  return m.kind;
}

/**
 * The method on a model whose head is new: a random head must learn, so LoRA and BitFit train it in full beside
 * their own parameters (as PEFT's modules_to_save and the BitFit paper's classifier do).
 */
export function withHeadTrained(method: Method): Method {
  return method.kind === 'lora' || method.kind === 'bitfit' ? { ...method, head: true } : method;
}

/** The model a method trains: LoRA adds its adapters (see models/lora.ts); the others train the model as it is. */
export function modelForMethod(model: Model, method: Method, seed: number): Model {
  if (method.kind !== 'lora') return model;
  const head = findHead(model.graph);
  return injectLora(model, { ...method, seed, exclude: method.head ? [head.weight] : [] });
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
      const head = method.head ? findHead(graph) : undefined;
      chosen = weights.filter((w) => isBias.has(w) || w === head?.weight);
      break;
    }
    case 'freeze': {
      const frozen = new RegExp(method.pattern);
      chosen = weights.filter((w) => !frozen.test(w));
      break;
    }
    case 'lora': {
      const adapters = adapterNames(graph);
      if (adapters.length === 0) throw new Error("method 'lora' needs a model with adapters (modelForMethod)");
      const head = method.head ? findHead(graph) : undefined;
      chosen = [...adapters, ...weights.filter((w) => w === head?.weight || w === head?.bias)];
      break;
    }
  }
  if (chosen.length === 0) throw new InvalidInput(`method '${formatMethod(method)}' leaves no parameter to train`);
  return chosen;
}
