import { objectKey, type ObjectKey } from '../object-store.ts';
import { checkModelName, checkVersion } from './schema.ts';

// The registry's keys, in one place (docs/PIPELINE.md, "Registry layout"):
//   models/<model>/aliases.json
//   models/<model>/versions/<version, 8 digits>/{lineage.json, model.onnx, metrics.json, card.md, card.json}
// Versions are zero-padded so that S3's lexical listing is numeric order.

export const ARTIFACTS = ['lineage.json', 'model.onnx', 'metrics.json', 'card.md', 'card.json'] as const;
export type ArtifactName = (typeof ARTIFACTS)[number];

const VERSION_DIGITS = 8;

export const modelsPrefix = 'models/';

export const versionsPrefix = (model: string) => `${modelsPrefix}${checkModelName(model)}/versions/`;

export const aliasesKey = (model: string): ObjectKey => objectKey('models', checkModelName(model), 'aliases.json');

export const artifactKey = (model: string, version: number, name: ArtifactName): ObjectKey =>
  objectKey(
    'models',
    checkModelName(model),
    'versions',
    String(checkVersion(version)).padStart(VERSION_DIGITS, '0'),
    name,
  );

/** Every artifact's key for one version: what the API presigns for download. */
export const versionKeys = (model: string, version: number) =>
  Object.fromEntries(ARTIFACTS.map((name) => [name, artifactKey(model, version, name)])) as Record<
    ArtifactName,
    ObjectKey
  >;

/** The version a `…/versions/<8 digits>/lineage.json` key names; undefined for any other key. */
export function versionOfKey(model: string, key: string): number | undefined {
  const match = new RegExp(`^${versionsPrefix(model)}(\\d{${VERSION_DIGITS}})/lineage\\.json$`).exec(key);
  return match && Number(match[1]) >= 1 ? Number(match[1]) : undefined;
}
