import { randomBytes } from 'node:crypto';

/** Short random ids with a readable prefix: `r_…` residents, `d_…` devices, `a_…` alerts. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}
