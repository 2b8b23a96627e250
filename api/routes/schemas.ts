// Schemas several route groups share.
import { z } from 'zod';

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** Opaque: the `next_cursor` of the previous page. */
  cursor: z.string().max(2048).optional(),
});

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ data: z.array(item), next_cursor: z.string().nullable() });

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

export const reasonBody = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(2000) }).strict();

/** Slices `items` (sorted by `id`) after the cursor; the cursor is the last id shown. */
export function pageOf<T>(items: T[], id: (item: T) => string, { limit, cursor }: { limit: number; cursor?: string }) {
  const rest = cursor === undefined ? items : items.filter((item) => id(item) > cursor);
  const data = rest.slice(0, limit);
  return { data, next_cursor: rest.length > limit ? id(data.at(-1)!) : null };
}
