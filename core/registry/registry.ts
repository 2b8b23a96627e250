import { canonicalJson, sha256Hex } from '../ledger/canonical.ts';
import { createOnce, serialised } from '../ledger/create-once.ts';
import { ObjectNotFound, PreconditionFailed, type ObjectStore } from '../object-store.ts';
import {
  aliasesKey,
  artifactKey,
  modelsPrefix,
  versionKeys,
  versionOfKey,
  versionsPrefix,
  type ArtifactName,
} from './layout.ts';
import {
  checkModelName,
  checkVersion,
  InvalidRegistryInput,
  parseLineage,
  type Lineage,
  type LineageInput,
} from './schema.ts';

// The model registry in S3. A version is claimed by creating its lineage.json conditionally (so numbers are never
// reused), then its artifacts are written; promote refuses a version whose artifacts are not all there yet.
// The `production` alias keeps the productions before it, so rollback is one call.

export type Artifacts = {
  /** The inference ONNX model. */
  model: Uint8Array;
  metrics: unknown;
  card: { markdown: string; json: unknown };
};

/** lineage.json: the caller's lineage plus what the registry pins, the sha256 of every artifact. */
export type VersionRecord = Lineage & {
  model: string;
  version: number;
  artifacts: Record<Exclude<ArtifactName, 'lineage.json'>, string>;
};

export type ModelVersion = { record: VersionRecord; metrics: unknown; keys: ReturnType<typeof versionKeys> };

export type AliasTarget = { version: number; by: string; at: string; via: 'promote' | 'rollback' };

/** aliases.json. `previous` holds the earlier productions, the most recent last. */
export type Aliases = { model: string; production: AliasTarget | null; previous: AliasTarget[] };

export type Change = { actor: string; at: string };

export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** Alias updates that keep losing their compare-and-swap to other writers give up after this many tries. */
const MAX_ALIAS_ATTEMPTS = 20;

export class Registry {
  constructor(private readonly store: ObjectStore) {}

  /**
   * Stores a new version and returns its number. Registering the same job's same bytes again (an activity retry)
   * returns the version already made, and rewrites any artifact the first attempt did not get to.
   */
  async registerVersion(model: string, artifacts: Artifacts, lineageInput: LineageInput): Promise<number> {
    checkModelName(model);
    const lineage = parseLineage(lineageInput);
    const bodies: Record<Exclude<ArtifactName, 'lineage.json'>, string | Uint8Array> = {
      'model.onnx': artifacts.model,
      'metrics.json': json(artifacts.metrics),
      'card.md': artifacts.card.markdown,
      'card.json': json(artifacts.card.json),
    };
    const shas = Object.fromEntries(
      Object.entries(bodies).map(([name, body]) => [name, sha256Hex(body)]),
    ) as VersionRecord['artifacts'];

    const version = await serialised(`registry/${model}/versions`, async () => {
      const versions = await this.listVersions(model);
      const latest = versions.at(-1);
      if (latest !== undefined) {
        const record = await this.getRecord(model, latest);
        if (sameOrigin(record, lineage) && canonicalJson(record.artifacts) === canonicalJson(shas)) return latest;
      }
      for (let v = (latest ?? 0) + 1; ; v++) {
        const record: VersionRecord = { model, version: v, ...lineage, artifacts: shas };
        if (await createOnce(this.store, artifactKey(model, v, 'lineage.json'), json(record))) return v;
      }
    });
    for (const [name, body] of Object.entries(bodies) as [ArtifactName, string | Uint8Array][]) {
      await this.store.put(artifactKey(model, version, name), body, { contentType: CONTENT_TYPES[name] });
    }
    return version;
  }

  async getVersion(model: string, version: number): Promise<ModelVersion> {
    const record = await this.getRecord(model, version);
    const metrics = await this.store.getJson(artifactKey(model, version, 'metrics.json'));
    return { record, metrics, keys: versionKeys(model, version) };
  }

  async getCard(model: string, version: number): Promise<{ markdown: string; json: unknown }> {
    const markdown = Buffer.from((await this.store.get(artifactKey(model, version, 'card.md'))).bytes).toString();
    return { markdown, json: await this.store.getJson(artifactKey(model, version, 'card.json')) };
  }

  /** The model's version numbers, ascending. */
  async listVersions(model: string): Promise<number[]> {
    const keys = await this.store.list(versionsPrefix(model));
    return keys.flatMap((key) => versionOfKey(model, key) ?? []).sort((a, b) => a - b);
  }

  /**
   * Every model whose name starts with `namePrefix` (a tenant's `acme--`) and has at least one version, by name,
   * with its versions ascending: one listing of that prefix, not one per model, and none of other tenants' models.
   */
  async listModels(namePrefix = ''): Promise<Map<string, number[]>> {
    if (!/^[a-z0-9-]*$/.test(namePrefix)) throw new InvalidRegistryInput(`invalid model name prefix ${namePrefix}`);
    const models = new Map<string, number[]>();
    for (const key of await this.store.list(`${modelsPrefix}${namePrefix}`)) {
      const [, name, folder] = key.split('/');
      const version = folder === 'versions' ? versionOfKey(name, key) : undefined;
      if (version !== undefined) models.set(name, [...(models.get(name) ?? []), version]);
    }
    return new Map([...models].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /** aliases.json, or no production and no history when nothing was promoted yet. */
  async getAliases(model: string): Promise<Aliases> {
    return (await this.readAliases(model)).aliases;
  }

  /** The version `production` points at, or the production before it ('previous'); null when there is none. */
  async getAlias(model: string, alias: 'production' | 'previous'): Promise<AliasTarget | null> {
    const aliases = await this.getAliases(model);
    return (alias === 'production' ? aliases.production : aliases.previous.at(-1)) ?? null;
  }

  /** Points `production` at `version`, keeping the current production for rollback. Promoting it again is a no-op. */
  async promote(model: string, version: number, change: Change): Promise<Aliases> {
    checkVersion(version);
    await this.checkComplete(model, version);
    return this.updateAliases(model, (aliases) => {
      if (aliases.production?.version === version) return aliases;
      return {
        model,
        production: { version, by: change.actor, at: change.at, via: 'promote' },
        previous: aliases.production ? [...aliases.previous, aliases.production] : aliases.previous,
      };
    });
  }

  /**
   * Points `production` back at the production before it. The same change again (same actor and time, e.g. an
   * activity retry) is a no-op rather than a second step back.
   */
  async rollback(model: string, change: Change): Promise<Aliases> {
    return this.updateAliases(model, (aliases) => {
      const current = aliases.production;
      if (current?.via === 'rollback' && current.by === change.actor && current.at === change.at) return aliases;
      const back = aliases.previous.at(-1);
      if (!back) throw new RegistryError(`model '${model}' has no previous production to roll back to`);
      return {
        model,
        production: { version: back.version, by: change.actor, at: change.at, via: 'rollback' },
        previous: aliases.previous.slice(0, -1),
      };
    });
  }

  /** A version's lineage record alone (getVersion also reads its metrics). */
  async getRecord(model: string, version: number): Promise<VersionRecord> {
    try {
      return await this.store.getJson<VersionRecord>(artifactKey(model, version, 'lineage.json'));
    } catch (error) {
      if (error instanceof ObjectNotFound) throw new RegistryError(`model '${model}' has no version ${version}`);
      throw error;
    }
  }

  private async checkComplete(model: string, version: number): Promise<void> {
    for (const [name, key] of Object.entries(versionKeys(model, version))) {
      try {
        await this.store.head(key);
      } catch (error) {
        if (!(error instanceof ObjectNotFound)) throw error;
        throw new RegistryError(`model '${model}' version ${version} is incomplete: no ${name}`);
      }
    }
  }

  private async readAliases(model: string): Promise<{ aliases: Aliases; etag: string | undefined }> {
    try {
      const { bytes, etag } = await this.store.get(aliasesKey(model));
      return { aliases: JSON.parse(Buffer.from(bytes).toString()) as Aliases, etag };
    } catch (error) {
      if (!(error instanceof ObjectNotFound)) throw error;
      return { aliases: { model: checkModelName(model), production: null, previous: [] }, etag: undefined };
    }
  }

  /** Read, change, write back only if nobody wrote in between (If-Match; If-None-Match for the first write). */
  private async updateAliases(model: string, change: (aliases: Aliases) => Aliases): Promise<Aliases> {
    return serialised(`registry/${checkModelName(model)}/aliases`, async () => {
      for (let attempt = 0; attempt < MAX_ALIAS_ATTEMPTS; attempt++) {
        const { aliases, etag } = await this.readAliases(model);
        const next = change(aliases);
        if (next === aliases) return aliases;
        try {
          await this.store.put(aliasesKey(model), json(next), {
            contentType: 'application/json',
            ...(etag ? { ifMatch: etag } : { ifAbsent: true }),
          });
          return next;
        } catch (error) {
          if (!(error instanceof PreconditionFailed)) throw error;
        }
      }
      throw new RegistryError(`model '${model}': aliases changed under ${MAX_ALIAS_ATTEMPTS} attempts in a row`);
    });
  }
}

const CONTENT_TYPES: Record<ArtifactName, string> = {
  'lineage.json': 'application/json',
  'model.onnx': 'application/octet-stream',
  'metrics.json': 'application/json',
  'card.md': 'text/markdown; charset=utf-8',
  'card.json': 'application/json',
};

/** The same job (an activity retry), or the same import: registering again yields the version already made. */
const sameOrigin = (record: Lineage, lineage: Lineage) =>
  lineage.imported ? record.imported !== undefined : record.job_id === lineage.job_id;

const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';
