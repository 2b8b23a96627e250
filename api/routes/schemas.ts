// Schemas several route groups share.
import { z } from 'zod';

/** OpenAI's list paging: the items after the one whose id is `after`, at most `limit` of them. */
export const listQuery = (defaultLimit: number, maxLimit = 100) =>
  z.object({
    limit: z.coerce.number().int().min(1).max(maxLimit).default(defaultLimit),
    after: z.string().max(200).optional(),
  });

/** OpenAI's list object: a client asks for the next page with `after=last_id` while `has_more` is true. */
export const listOf = <T extends z.ZodType>(item: T) =>
  z.object({
    object: z.literal('list'),
    data: z.array(item),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  });

/** OpenAI's answer to a DELETE: the id and object type of what is gone. */
export const deletedResponses = (object: string) => ({
  200: {
    description: 'Deleted',
    schema: z.object({ id: z.string(), object: z.literal(object), deleted: z.literal(true) }),
  },
});

/** OpenAI's error envelope (api/problem.ts); `errors` lists every invalid field when there are several. */
export const errorSchema = z
  .object({
    error: z.object({
      message: z.string(),
      type: z.string(),
      param: z.string().nullable(),
      code: z.string().nullable(),
      errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .meta({ id: 'Error' });

export const reasonBody = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(2000) }).strict();

/** One page of `items` (in the order shown): those after the item whose id is `after`, at most `limit`. */
export function listPage<T>(items: T[], id: (item: T) => string, { limit, after }: { limit: number; after?: string }) {
  const start = after === undefined ? 0 : items.findIndex((item) => id(item) === after) + 1;
  // An `after` that names no item (deleted since, or never issued) is an empty last page, not the first page again:
  // a client paging on would otherwise loop.
  const rest = after !== undefined && start === 0 ? [] : items.slice(start);
  return listObject(rest.slice(0, limit), id, rest.length > limit);
}

export const listObject = <T>(data: T[], id: (item: T) => string, hasMore: boolean) => ({
  object: 'list' as const,
  data,
  first_id: data.length ? id(data[0]) : null,
  last_id: data.length ? id(data.at(-1)!) : null,
  has_more: hasMore,
});
