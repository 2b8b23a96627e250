// One endpoint = one declaration: method, path, role, zod schemas for the request and the responses. The router
// validates requests against it and the OpenAPI document is generated from it, so the two cannot drift apart.
import type { Context } from 'hono';
import { z } from 'zod';
import type { Principal, Role } from '../auth/principal.ts';

export type ApiEnv = { Variables: { principal: Principal } };
export type ApiContext = Context<ApiEnv>;

export type ResponseSpec = { description: string; schema?: z.ZodType; contentType?: string };

export type Endpoint = {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI's template form, `/v1/files/{fileId}`. */
  path: `/${string}`;
  summary: string;
  tag: string;
  /** The role a key must hold; null for routes open to anyone (health, docs, metrics). */
  role: Role | null;
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** A JSON body, or with `multipart` the fields of a multipart/form-data body. */
  body?: z.ZodObject;
  multipart?: boolean;
  /** Headers the route reads, for the document (e.g. Idempotency-Key). */
  headers?: Record<string, string>;
  responses: Record<number, ResponseSpec>;
};

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export type Input<E extends Endpoint> = {
  params: Parsed<E['params']>;
  query: Parsed<E['query']>;
  body: Parsed<E['body']>;
};

type Method = Endpoint['method'];
type Spec = Omit<Endpoint, 'method' | 'path' | 'tag'>;

/**
 * Declares the endpoints of one resource, `api.get(path, spec)`, each under the resource's tag in the document.
 * Declarations keep the literal types of their schemas, so handlers get typed input.
 */
export function resource(tag: string) {
  const at =
    <M extends Method>(method: M) =>
    <const S extends Spec>(path: Endpoint['path'], spec: S) => ({ ...spec, method, path, tag });
  /** Endpoints on one of the resource, named by `params`: each answers 404 with `missing` when there is none. */
  const one = <P extends z.ZodObject>(params: P, missing: string) => {
    const on =
      <M extends Method>(method: M) =>
      <const S extends Omit<Spec, 'params'>>(path: Endpoint['path'], spec: S) =>
        at(method)(path, { ...spec, params, responses: { 404: { description: missing }, ...spec.responses } });
    return { get: on('get'), post: on('post'), delete: on('delete') };
  };
  return { get: at('get'), post: at('post'), delete: at('delete'), one };
}

/** `/v1/files/{fileId}` -> `/v1/files/:fileId`. */
export const honoPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');
