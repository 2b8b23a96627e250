// The model registry, seen by one tenant: its models are the registry's `<tenant>--<name>` models.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { basename } from 'node:path';
import { z } from 'zod';
import { importBaseModel } from '../../core/import-base.ts';
import { mapLimited } from '../../core/map-limited.ts';
import type { ObjectStore } from '../../core/object-store.ts';
import { InvalidInput } from '../../engine/invalid-input.ts';
import {
  Registry,
  RegistryError,
  type Aliases,
  type Change,
  type VersionRecord,
} from '../../core/registry/registry.ts';
import { resource, type ApiContext } from '../http/endpoint.ts';
import { router, type BodyLimits } from '../http/router.ts';
import { conflict, invalidField, notFound } from '../problem.ts';
import { scoped, unscoped } from '../tenancy.ts';
import type { AuditTrail } from './audit-trail.ts';
import { uploadedFile } from './files.ts';
import { ARCHITECTURES } from './job-schemas.ts';
import { reasonBody } from './schemas.ts';
import { nameSchema } from '../../core/registry/schema.ts';

const aliasTarget = z.object({
  version: z.number().int(),
  by: z.string(),
  at: z.string(),
  via: z.enum(['promote', 'rollback']),
});
const aliasesSchema = z
  .object({ model: z.string(), production: aliasTarget.nullable(), previous: z.array(aliasTarget) })
  .meta({ id: 'Aliases' });
const versionSchema = z
  .object({
    model: z.string(),
    version: z.number().int(),
    /** Absent on an imported version, whose lineage is `imported` instead. */
    job_id: z.string().optional(),
    imported: z.record(z.string(), z.unknown()).optional(),
    created: z.string(),
    submitter: z.string(),
    artifacts: z.record(z.string(), z.string()),
  })
  .loose()
  .meta({ id: 'ModelVersion' });

const modelParam = z.object({ model: nameSchema });
const versionParam = modelParam.extend({ version: z.coerce.number().int().min(1).max(99_999_999) });

const modelObject = z
  .object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() })
  .meta({ id: 'Model' });

const api = resource('models');
const onModel = api.one(modelParam, 'No such model');
const onVersion = api.one(versionParam, 'No such version');

const list = api.get('/v1/models', {
  summary: "The architectures a job trains from scratch, and each version of the tenant's models as name:version",
  role: 'viewer',
  responses: {
    200: { description: 'Models', schema: z.object({ object: z.literal('list'), data: z.array(modelObject) }) },
  },
});

// An architecture, a model (its production version) or one version: what a job's `model` and `fine_tuned_model` name.
const modelIdParam = z.object({
  modelId: z
    .string()
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*(:[1-9]\d{0,7})?$/, 'expected an architecture, a model name or name:version')
    .max(45),
});
const onModelId = api.one(modelIdParam, 'No such model');

const retrieve = onModelId.get('/v1/models/{modelId}', {
  summary: 'An architecture, a model, or a version (name:version)',
  role: 'viewer',
  responses: { 200: { description: 'The model', schema: modelObject } },
});

const remove = onModelId.delete('/v1/models/{modelId}', {
  summary: 'Refused: registry versions are kept for lineage and audit (roll production back instead)',
  role: 'admin',
  responses: { 409: { description: 'Always, for a model that exists' } },
});

const versions = onModel.get('/v1/models/{model}/versions', {
  summary: "A model's versions, ascending",
  role: 'viewer',
  responses: {
    200: { description: 'Versions with lineage', schema: z.object({ data: z.array(versionSchema) }) },
  },
});

const version = onVersion.get('/v1/models/{model}/versions/{version}', {
  summary: 'One version: lineage and metrics',
  role: 'viewer',
  responses: {
    200: { description: 'The version', schema: z.object({ version: versionSchema, metrics: z.unknown() }) },
  },
});

const card = onVersion.get('/v1/models/{model}/versions/{version}/card', {
  summary: "A version's model card, as JSON or (format=markdown) as markdown",
  role: 'viewer',
  query: z.object({ format: z.enum(['json', 'markdown']).default('json') }),
  responses: {
    200: { description: 'The model card', schema: z.record(z.string(), z.unknown()) },
  },
});

const download = onVersion.get('/v1/models/{model}/versions/{version}/download', {
  summary: "A presigned URL for the version's ONNX model",
  role: 'viewer',
  responses: {
    200: {
      description: 'GET the url within its lifetime',
      schema: z.object({ url: z.string(), sha256: z.string(), expires_at: z.string() }),
    },
  },
});

const aliases = onModel.get('/v1/models/{model}/aliases', {
  summary: "The model's production alias and the productions before it",
  role: 'viewer',
  responses: { 200: { description: 'Aliases', schema: aliasesSchema } },
});

const promote = onModel.post('/v1/models/{model}/promote', {
  summary: 'Point production at a version (the current one is kept for rollback)',
  role: 'approver',
  body: reasonBody.extend({ version: z.number().int().min(1).max(99_999_999) }),
  responses: {
    200: { description: 'The new aliases', schema: aliasesSchema },
    404: { description: 'No such version' },
    409: { description: 'The version is incomplete' },
  },
});

const rollback = api.post('/v1/models/{model}/rollback', {
  summary: 'Point production back at the production before it',
  role: 'approver',
  params: modelParam,
  body: reasonBody,
  responses: {
    200: { description: 'The new aliases', schema: aliasesSchema },
    409: { description: 'Nothing to roll back to' },
  },
});

const importModel = api.post('/v1/models/{model}/import', {
  summary:
    'Import a pretrained BERT as a new base model (multipart/form-data: file, a wheel or HF-directory tarball, ' +
    'or file_id, one uploaded through /v1/files; licence, max_length, sha256 optional): version 1, made ' +
    'production, its lineage and card the import',
  role: 'approver',
  params: modelParam,
  multipart: true,
  body: z.object({
    /** The file itself, up to the multipart limit; or `file_id`, a file uploaded before (presigned for large ones). */
    file: z.file().optional(),
    file_id: z.string().max(64).optional(),
    /** Required unless the file is a wheel pinned with one. */
    licence: z.string().trim().min(1).max(100).optional(),
    max_length: z.coerce.number().int().min(2).max(4096).optional(),
    /** The sha256 the caller expects of the file. */
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits')
      .optional(),
  }),
  responses: {
    201: {
      description: 'Imported',
      schema: z.object({
        model: z.string(),
        version: z.number().int(),
        sha256: z.string(),
        licence: z.string(),
        source_sha256: z.record(z.string(), z.string()),
      }),
    },
    400: { description: 'The file is not a model this importer can build, or not the one expected; nothing stored' },
    409: { description: 'The model already exists' },
  },
});

/** Version records read at once when listing a tenant's models. */
const RECORD_READS = 8;

export const modelEndpoints = [
  list,
  retrieve,
  remove,
  versions,
  version,
  card,
  download,
  aliases,
  promote,
  rollback,
  importModel,
];

const DOWNLOAD_SECONDS = 15 * 60;

export function modelRoutes(deps: {
  registry: Registry;
  store: ObjectStore;
  s3: S3Client;
  bucket: string;
  audit: AuditTrail;
  limits: BodyLimits;
}) {
  const { registry } = deps;
  const { app, mount } = router(deps.limits);

  /** The registry's name for the tenant's model; 404 when it has no version. */
  const existing = async (tenant: string, model: string) => {
    const name = scoped(tenant, model);
    const numbers = await registry.listVersions(name);
    if (numbers.length === 0) throw notFound(`model ${model}`);
    return { name, numbers };
  };
  const found = async <T>(what: string, read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (error) {
      if (error instanceof RegistryError) throw notFound(what);
      throw error;
    }
  };
  const shown = <T extends { model: string }>(tenant: string, value: T): T => ({
    ...value,
    model: unscoped(tenant, value.model)!,
  });
  /** A version's lineage as the tenant names things: its model and the base model it was fine-tuned from. */
  const shownRecord = (tenant: string, record: VersionRecord): VersionRecord => {
    const base = record.base_model;
    if (!base) return shown(tenant, record);
    return { ...shown(tenant, record), base_model: { ...base, name: unscoped(tenant, base.name) ?? base.name } };
  };

  const modelObject = (tenant: string, id: string, record: VersionRecord) => ({
    id,
    object: 'model' as const,
    created: Math.floor(Date.parse(record.created) / 1000),
    owned_by: tenant,
  });
  const architectures = ARCHITECTURES.map((id) => ({ id, object: 'model' as const, created: 0, owned_by: 'ratchet' }));
  /** The model `id` names for this tenant; 404 when there is none. */
  const modelOf = async (tenant: string, id: string) => {
    const architecture = architectures.find((a) => a.id === id);
    if (architecture) return architecture;
    const [model, version] = id.split(':');
    const { name, numbers } = await existing(tenant, model);
    // A name alone is its production version, as a job's `model` takes it.
    const number = version === undefined ? (await registry.getAlias(name, 'production'))?.version : Number(version);
    if (number === undefined) throw notFound(`production version of model ${model}: name one, ${model}:N`);
    if (!numbers.includes(number)) throw notFound(`model ${id}`);
    return modelObject(tenant, id, await registry.getRecord(name, number));
  };

  mount(list, async (c) => {
    const { tenant } = c.get('principal');
    // One listing of the tenant's models, then each version's record once.
    const versions = [...(await registry.listModels(scoped(tenant, ''))).entries()].flatMap(([name, numbers]) => {
      const model = unscoped(tenant, name);
      return model === undefined ? [] : numbers.map((version) => ({ name, model, version }));
    });
    const data = await mapLimited(versions, RECORD_READS, async ({ name, model, version }) => {
      const record = await registry.getRecord(name, version);
      return modelObject(tenant, `${model}:${version}`, record);
    });
    return c.json({ object: 'list' as const, data: [...architectures, ...data] });
  });

  mount(retrieve, async (c, { params }) => c.json(await modelOf(c.get('principal').tenant, params.modelId)));

  mount(remove, async (c, { params }) => {
    await modelOf(c.get('principal').tenant, params.modelId);
    throw conflict(
      `${params.modelId} stays: registry versions are the lineage and audit record of what was deployed; ` +
        'to stop serving one, POST /v1/models/{model}/rollback or promote another version',
    );
  });

  mount(versions, async (c, { params }) => {
    const { tenant } = c.get('principal');
    const { name, numbers } = await existing(tenant, params.model);
    const data = await Promise.all(
      numbers.map(async (v) => shownRecord(tenant, (await registry.getVersion(name, v)).record)),
    );
    return c.json({ data });
  });

  mount(version, async (c, { params }) => {
    const { tenant } = c.get('principal');
    const { record, metrics } = await found(`version ${params.version} of ${params.model}`, () =>
      registry.getVersion(scoped(tenant, params.model), params.version),
    );
    return c.json({ version: shownRecord(tenant, record), metrics });
  });

  mount(card, async (c, { params, query }) => {
    const { tenant } = c.get('principal');
    const cardOf = await found(`version ${params.version} of ${params.model}`, () =>
      registry.getCard(scoped(tenant, params.model), params.version),
    );
    if (query.format === 'markdown')
      return c.body(cardOf.markdown, 200, { 'Content-Type': 'text/markdown; charset=utf-8' });
    return c.json(cardOf.json as Record<string, unknown>);
  });

  mount(download, async (c, { params }) => {
    const { tenant } = c.get('principal');
    const { record, keys } = await found(`version ${params.version} of ${params.model}`, () =>
      registry.getVersion(scoped(tenant, params.model), params.version),
    );
    const url = await getSignedUrl(deps.s3, new GetObjectCommand({ Bucket: deps.bucket, Key: keys['model.onnx'] }), {
      expiresIn: DOWNLOAD_SECONDS,
    });
    return c.json({
      url,
      sha256: record.artifacts['model.onnx'],
      expires_at: new Date(Date.now() + DOWNLOAD_SECONDS * 1000).toISOString(),
    });
  });

  mount(aliases, async (c, { params }) => {
    const { tenant } = c.get('principal');
    const { name } = await existing(tenant, params.model);
    return c.json(shown(tenant, await registry.getAliases(name)));
  });

  /** Moves the alias, records who did it and why, and answers with the new aliases. */
  const change = async (
    c: ApiContext,
    model: string,
    action: string,
    details: Record<string, unknown>,
    apply: (name: string, change: Change) => Promise<Aliases>,
  ) => {
    const { tenant, user } = c.get('principal');
    const { name } = await existing(tenant, model);
    let next: Aliases;
    try {
      next = await apply(name, { actor: user, at: new Date().toISOString() });
    } catch (error) {
      if (error instanceof RegistryError) throw conflict(unscopedMessage(tenant, error.message));
      throw error;
    }
    await deps.audit.record(tenant, user, action, `${model}@${next.production?.version}`, details);
    return c.json(shown(tenant, next));
  };

  mount(promote, async (c, { params, body }) => {
    const { numbers } = await existing(c.get('principal').tenant, params.model);
    if (!numbers.includes(body.version)) throw notFound(`version ${body.version} of ${params.model}`);
    return change(c, params.model, 'model.promoted', body, (name, by) => registry.promote(name, body.version, by));
  });

  mount(importModel, async (c, { params, body }) => {
    const { tenant, user } = c.get('principal');
    const name = scoped(tenant, params.model);
    if ((await registry.listVersions(name)).length > 0) {
      throw conflict(`model ${params.model} exists: import a pretrained model under a new name`);
    }
    if ((body.file === undefined) === (body.file_id === undefined)) {
      throw invalidField('body', 'give the model as file (the bytes) or file_id (an uploaded file), one of them');
    }
    const field = body.file ? 'body.file' : 'body.file_id';
    let upload: { filename: string; bytes: Uint8Array; licence?: string };
    if (body.file) {
      upload = { filename: body.file.name || 'upload', bytes: new Uint8Array(await body.file.arrayBuffer()) };
    } else {
      // An uploaded file's declared licence stands in for a missing `licence`.
      const file = await uploadedFile(deps.store, tenant, body.file_id!, 'file_id');
      const bytes = (await deps.store.get(file.key)).bytes;
      upload = { filename: file.filename, bytes, ...(file.licence ? { licence: file.licence } : {}) };
    }
    const request = {
      filename: basename(upload.filename),
      bytes: upload.bytes,
      sha256: body.sha256,
      licence: body.licence ?? upload.licence,
      maxLength: body.max_length,
      submitter: user,
      at: new Date().toISOString(),
    };
    let result;
    try {
      result = await importBaseModel(registry, name, request);
    } catch (error) {
      if (error instanceof InvalidInput) throw invalidField(field, error.message);
      throw error;
    }
    const { source_sha256, licence } = result;
    await deps.audit.record(tenant, user, 'model.imported', `${params.model}@${result.version}`, {
      source: request.filename,
      source_sha256,
      licence,
    });
    return c.json({ model: params.model, ...result }, 201);
  });

  mount(rollback, async (c, { params, body }) =>
    change(c, params.model, 'model.rolled_back', body, (name, by) => registry.rollback(name, by)),
  );

  return app;
}

/** Registry messages name the registry's model (`acme--spam`); the tenant knows it as `spam`. */
const unscopedMessage = (tenant: string, message: string) => message.replaceAll(`'${tenant}--`, "'");
