// A pretrained model into a tenant's registry as a base model: the uploaded wheel or HF-directory tarball becomes
// the engine's ONNX base model (engine/models/bert-base.ts), registered as a version whose lineage is the import
// (source file, its sha256s, licence) and whose card says so, and made the model's production so a job's
// `model: name` trains from it. Everything is checked before anything is written: bad input registers nothing.
import { ENGINE_VERSION } from '../engine/export/inference.ts';
import { encodeModel } from '../engine/ir/index.ts';
import { InvalidInput } from '../engine/invalid-input.ts';
import { pretrainedBase } from '../engine/models/bert-base.ts';
import { loadPretrainedBytes } from '../engine/models/pretrained.ts';
import { renderImportedCard } from '../governance/imported-card.ts';
import { sha256Hex } from './ledger/canonical.ts';
import type { Registry } from './registry/registry.ts';

export type ImportRequest = {
  /** The upload's file name: it says the kind (.whl, .tar, .tar.gz, .tgz) and pins a known wheel. */
  filename: string;
  bytes: Uint8Array;
  /** The sha256 the caller expects of the upload; a different file is refused. */
  sha256?: string;
  /** Required unless the source is pinned with one (the MiniLM wheel). */
  licence?: string;
  maxLength?: number;
  submitter: string;
  /** ISO 8601. */
  at: string;
};

export type ImportResult = { version: number; sha256: string; licence: string; source_sha256: Record<string, string> };

/** Registers `request`'s model as a new version of `model` and points production at it; InvalidInput if it is bad. */
export async function importBaseModel(
  registry: Registry,
  model: string,
  request: ImportRequest,
): Promise<ImportResult> {
  const uploadSha = sha256Hex(request.bytes);
  if (request.sha256 !== undefined && request.sha256 !== uploadSha) {
    throw new InvalidInput(`${request.filename}: sha256 ${uploadSha} is not the expected ${request.sha256}`);
  }
  const pretrained = loadPretrainedBytes(request.bytes, request.filename);
  const licence = request.licence ?? pretrained.licence;
  if (!licence) {
    throw new InvalidInput(`${request.filename}: its licence is not known here; give licence (e.g. Apache-2.0)`);
  }
  const base = pretrainedBase(pretrained, { maxLength: request.maxLength, licence });
  const onnx = encodeModel(base);
  const modelSha = sha256Hex(onnx);
  const sourceSha = { ...pretrained.sha256 } as Record<string, string>;
  const maxLength = request.maxLength ?? pretrained.maxLength;
  const { config } = pretrained;
  const parameters = [...pretrained.weights.values()].reduce((n, t) => n + t.data.length, 0);
  const cardOf = (version: number) =>
    renderImportedCard({
      model,
      version,
      created: request.at,
      submitter: request.submitter,
      source: request.filename,
      sha256: sourceSha,
      licence,
      architecture: 'BertModel',
      config: { layers: config.layers, hidden: config.hidden, heads: config.heads, vocab: config.vocab },
      parameters,
      max_length: maxLength,
      model_sha256: modelSha,
      code_version: ENGINE_VERSION,
    });
  const planned = ((await registry.listVersions(model)).at(-1) ?? 0) + 1;
  const version = await registry.registerVersion(
    model,
    { model: onnx, metrics: { imported: true }, card: cardOf(planned) },
    {
      imported: {
        source: request.filename,
        sha256: sourceSha,
        licence,
        architecture: 'BertModel',
        max_length: maxLength,
      },
      created: request.at,
      code_version: ENGINE_VERSION,
      submitter: request.submitter,
    },
  );
  await registry.promote(model, version, { actor: request.submitter, at: request.at });
  return { version, sha256: modelSha, licence, source_sha256: sourceSha };
}
