// The OpenAPI document: valid per a maintained validator, and listing exactly the routes the app serves.
import SwaggerParser from '@apidevtools/swagger-parser';
import { S3Client } from '@aws-sdk/client-s3';
import { Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.ts';
import { grpcTemporal } from '../../api/temporal/grpc.ts';

// Never contacted: building the app and reading its document make no calls to Temporal or S3.
const app = createApp({
  temporal: grpcTemporal(Connection.lazy({ address: '127.0.0.1:1' }), 'default'),
  s3: new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
  }),
  bucket: 'unused',
});

async function document() {
  const response = await app.request('/openapi.json');
  expect(response.status).toBe(200);
  return response.json();
}

describe('/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const doc = await document();
    expect(doc.openapi).toBe('3.1.0');
    await expect(SwaggerParser.validate(structuredClone(doc))).resolves.toBeTruthy();
  });

  it('lists every route the app serves, and no other', async () => {
    const doc = await document();
    const documented = Object.entries(doc.paths as Record<string, object>)
      .flatMap(([path, methods]) =>
        Object.keys(methods).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      )
      .sort();
    // Middleware (method ALL) is not a route, and the console's pages are a UI for people, not part of the API.
    const routes = app.routes.filter((r) => r.method !== 'ALL' && !r.path.startsWith('/console'));
    const served = [...new Set(routes.map((r) => `${r.method} ${r.path}`))].sort();
    expect(documented).toEqual(served);
    expect(served.length).toBeGreaterThan(35);
  });

  it('documents the auth, validation and limit answers of a route that has them', async () => {
    const create = (await document()).paths['/v1/fine_tuning/jobs'].post;
    expect(create.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(create.responses).sort()).toEqual([
      '200',
      '201',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '429',
    ]);
    // OpenAI's error envelope, with the 400 a wrong field gets (not 422: the SDKs raise BadRequestError for it).
    expect(create.responses['400'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Error',
    });
    expect(create.parameters.map((p: { name: string }) => p.name)).toEqual(['Idempotency-Key']);
    expect(create.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/CreateFineTuningJob',
    });
  });

  it('documents the optional OOD file of a job and the policy rule that judges it', async () => {
    const { CreateFineTuningJob: create } = (await document()).components.schemas;
    expect(create.properties.ood_file).toMatchObject({ type: 'string', maxLength: 64 });
    // OpenAI's two required fields, and no others.
    expect(create.required.sort()).toEqual(['model', 'training_file']);
    expect(create.properties.policy.properties.minOodAuroc).toMatchObject({
      type: 'number',
      minimum: 0,
      maximum: 1,
    });
  });
});
