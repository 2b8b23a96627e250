// The model card of an imported base model: no data, training or evaluation made it here, so the card says where
// its files came from (name and sha256s), under which licence, what the model is, and that it is a base to
// fine-tune, not a classifier to serve. Pure and deterministic, as the trained card (card.ts) is.

export type ImportedCardInput = {
  model: string;
  version: number;
  /** ISO 8601, from the caller. */
  created: string;
  submitter: string;
  source: string;
  /** sha256 per file: the upload (`wheel` or `archive`) and the weights (`safetensors`). */
  sha256: Record<string, string>;
  licence: string;
  architecture: string;
  /** Layers, hidden size, heads and the like, as the importer read them from config.json. */
  config: Record<string, unknown>;
  parameters: number;
  max_length: number;
  /** sha256 of the base model's ONNX file (what jobs train from and lineage names). */
  model_sha256: string;
  code_version: string;
};

export function importedCardJson(input: ImportedCardInput) {
  return {
    schema: 'ratchet.model-card.imported/v1',
    model: input.model,
    version: input.version,
    created: input.created,
    kind: 'imported base model',
    intended_use:
      'a pretrained base to fine-tune (a job whose model names it); it outputs embeddings, not labels, so it is not served',
    provenance: {
      source: input.source,
      sha256: input.sha256,
      licence: input.licence,
      imported_by: input.submitter,
      code_version: input.code_version,
    },
    architecture: {
      name: input.architecture,
      ...input.config,
      parameters: input.parameters,
      max_length: input.max_length,
    },
    model_sha256: input.model_sha256,
  };
}

export function renderImportedCard(input: ImportedCardInput): {
  markdown: string;
  json: ReturnType<typeof importedCardJson>;
} {
  const json = importedCardJson(input);
  const rows = Object.entries(input.sha256).map(([file, sha]) => `| ${file} | \`${sha}\` |`);
  const markdown = [
    `# ${input.model} v${input.version} (imported base model)`,
    '',
    `Imported ${input.created} by ${input.submitter} from \`${input.source}\`. Licence: **${input.licence}**.`,
    '',
    `${json.intended_use}.`,
    '',
    '## Source files',
    '',
    '| file | sha256 |',
    '| --- | --- |',
    ...rows,
    '',
    '## Model',
    '',
    `${input.architecture}: ${Object.entries(input.config)
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ')}; ${input.parameters.toLocaleString('en-US')} parameters; texts cut at ${input.max_length} tokens.`,
    '',
    `ONNX base model sha256: \`${input.model_sha256}\` (built by ${input.code_version}).`,
    '',
  ].join('\n');
  return { markdown, json };
}
