import type { z } from 'zod';
import { PlatformError } from '../core/errors.js';

/** Parses a REST body or query with the shared zod schema; a 400 names the first bad field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || undefined;
  throw new PlatformError('bad_request', field ? `${field}: ${issue.message}` : issue.message, field);
}
