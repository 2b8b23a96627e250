// The OpenAPI 3.1 document, generated from the endpoints' zod schemas (JSON Schema 2020-12 is OpenAPI 3.1's
// schema dialect, so zod's own converter serves). Schemas with a `.meta({ id })` become components.
import { z } from 'zod';
import type { Endpoint } from './http/endpoint.ts';
import { errorSchema } from './routes/schemas.ts';

type JsonSchema = Record<string, unknown>;

export function openApiDocument(endpoints: Endpoint[], info: { title: string; version: string }) {
  const components: Record<string, JsonSchema> = {};

  /** The schema as JSON Schema, its named parts moved to components and referenced from there. */
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const { $defs, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    // The document's dialect is declared once, by `openapi: 3.1.0`.
    delete rest.$schema;
    const definitions = Object.entries($defs ?? {});
    const relink = (value: unknown, names: Map<string, string>) => {
      let text = JSON.stringify(value);
      for (const [id, name] of names) text = text.replaceAll(`"#/$defs/${id}"`, `"#/components/schemas/${name}"`);
      return JSON.parse(text) as JsonSchema;
    };
    const asIs = new Map(definitions.map(([id]) => [id, id]));
    // The same id read as request and as response can differ (defaults make fields optional on input).
    const names = new Map(
      definitions.map(([id, definition]) => {
        const clash = components[id] && JSON.stringify(components[id]) !== JSON.stringify(relink(definition, asIs));
        return [id, clash ? `${id}Input` : id];
      }),
    );
    for (const [id, definition] of definitions) components[names.get(id)!] = relink(definition, names);
    return relink(rest, names);
  };

  const errorRef = { $ref: '#/components/schemas/Error' };
  const errorResponse = (description: string) => ({
    description,
    content: { 'application/json': { schema: errorRef } },
  });

  const paths: Record<string, Record<string, unknown>> = {};
  for (const endpoint of endpoints) {
    const parameters = [
      ...objectParameters(endpoint.params, 'path', convert),
      ...objectParameters(endpoint.query, 'query', convert),
      ...Object.entries(endpoint.headers ?? {}).map(([name, description]) => ({
        name,
        in: 'header',
        required: false,
        description,
        schema: { type: 'string' },
      })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(endpoint.responses)) {
      const type = spec.contentType ?? 'application/json';
      const schema = spec.schema
        ? convert(spec.schema, 'output')
        : Number(status) >= 400
          ? errorRef
          : { type: 'string' };
      responses[status] = { description: spec.description, content: { [type]: { schema } } };
    }
    // The answers every endpoint of its kind can give, from the router and the middleware.
    if (endpoint.params || endpoint.query)
      responses['400'] ??= errorResponse('Invalid path or query parameter; param names the field');
    if (endpoint.body) {
      responses['400'] ??= errorResponse(
        'The body is not well-formed or does not match the schema; param names the field',
      );
      responses['413'] = errorResponse('The body is larger than the limit');
      responses['415'] = errorResponse('The body is not of the declared media type');
    }
    if (endpoint.role) {
      responses['401'] = errorResponse('No API key, or one that is unknown or revoked');
      responses['403'] = errorResponse(`The key lacks the ${endpoint.role} role`);
      responses['429'] = errorResponse('Over the rate limit; see Retry-After');
    }
    const method = endpoint.method;
    (paths[endpoint.path] ??= {})[method] = {
      operationId: operationId(endpoint),
      summary: endpoint.summary,
      tags: [endpoint.tag],
      ...(endpoint.role ? { 'x-required-role': endpoint.role } : {}),
      security: endpoint.role ? [{ bearer: [] }] : [],
      ...(parameters.length ? { parameters } : {}),
      ...(endpoint.body
        ? {
            requestBody: {
              required: true,
              content: {
                [endpoint.multipart ? 'multipart/form-data' : 'application/json']: {
                  schema: convert(endpoint.body, 'input'),
                },
              },
            },
          }
        : {}),
      responses,
    };
  }
  convert(errorSchema, 'output');

  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas: components,
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key: rk_<id>_<secret>' } },
    },
  };
}

function objectParameters(
  schema: z.ZodObject | undefined,
  where: 'path' | 'query',
  convert: (s: z.ZodType, io: 'input') => JsonSchema,
) {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => ({
    name,
    in: where,
    required: where === 'path' || !(field as z.ZodType).safeParse(undefined).success,
    schema: convert(field as z.ZodType, 'input'),
  }));
}

/** `post /v1/fine_tuning/jobs/{jobId}/approve` -> `post_v1_fine_tuning_jobs_jobId_approve`. */
const operationId = (e: Endpoint) => `${e.method}${e.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+/g, '_')}`;
