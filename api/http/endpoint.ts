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

/** Keeps the literal types of an endpoint's schemas, so handlers get typed input. */
export const endpoint = <const E extends Endpoint>(spec: E): E => spec;

/** `/v1/files/{fileId}` -> `/v1/files/:fileId`. */
export const honoPath = (path: string) => path.replace(/\{(\w+)\}/g, ':$1');
