// `ratchet eval --model MODEL.onnx --data FILE`: scores a classifier on a labelled JSONL file (features, or raw
// text for a text model) and prints the metrics as one JSON object on the last line of stdout.
import { loadClassifier } from '../../engine/models/base.ts';
import { withSession } from '../../engine/runtime/index.ts';
import { oneOf, parseOptions, runCommand, stringOptions } from './args.ts';
import { readInput } from './files.ts';
import { encodeDataset } from '../../engine/text/dataset.ts';
import { textEncoder } from '../../engine/text/encode.ts';
import type { Examples } from '../../engine/train/examples.ts';
import { checkWidth, loadData, loadTexts } from '../../engine/train/inputs.ts';
import { scoreSession } from '../../engine/train/score.ts';

const USAGE = 'usage: ratchet eval --model MODEL.onnx --data FILE [--ep cpu|cuda|auto]';

export function run(args: string[]): Promise<number> {
  return runCommand('eval', USAGE, args, async () => {
    const opts = parseOptions(args, stringOptions('model', 'data', 'ep'));
    if (!opts.model || !opts.data) throw new Error(USAGE);
    const ep = oneOf('--ep', opts.ep, ['cpu', 'cuda', 'auto'] as const);
    const classifier = loadClassifier(opts.model);
    const bytes = await readInput(opts.data, 'data');
    let labelNames = classifier.labelNames;
    if (!labelNames) {
      const own = (classifier.text ? loadTexts : loadData)(bytes, opts.data).data.labelNames;
      if (own.length !== classifier.classes) {
        throw new Error(
          `the model has ${classifier.classes} outputs and no label map, the data has ${own.length} labels`,
        );
      }
      labelNames = own;
    }
    let examples: Examples;
    if (classifier.text) {
      // A text model carries its tokeniser (or n-gram hashing): raw text is encoded here, as in training.
      const { data } = loadTexts(bytes, opts.data, labelNames);
      examples = encodeDataset(data, textEncoder(classifier.text));
    } else {
      const { data } = loadData(bytes, opts.data, labelNames);
      checkWidth(data, classifier.inputs, 'eval');
      examples = data;
    }
    console.log(
      JSON.stringify(await withSession(classifier.model, { ep }, (session) => scoreSession(session, examples))),
    );
    return 0;
  });
}
