import type { FastifyReply, FastifyRequest } from 'fastify';
import { PlatformError } from '../core/errors.js';
import type { Role, Staff } from '../core/schemas/registry.js';
import type { Registry } from '../registry/store.js';

export const SESSION_COOKIE = 'dh_session';

declare module 'fastify' {
  interface FastifyRequest {
    staff?: Staff;
  }
}

/** The session token from the HttpOnly cookie or `Authorization: Bearer`. */
export function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice('Bearer '.length).trim();
  return request.cookies[SESSION_COOKIE];
}

/** preHandler: every API call is authenticated, optionally for given roles only (403 otherwise). */
export function requireStaff(registry: Registry, roles?: readonly Role[]) {
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const token = tokenOf(request);
    const staff = token ? registry.staffForSession(token) : undefined;
    if (!staff) throw new PlatformError('unauthenticated');
    if (roles && !roles.includes(staff.role)) throw new PlatformError('forbidden');
    request.staff = staff;
  };
}
