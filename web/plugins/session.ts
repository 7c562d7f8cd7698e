import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PlatformError } from '../../core/errors.js';
import type { Registry } from '../../registry/store.js';
import { SESSION_COOKIE, requireStaff, tokenOf } from '../auth.js';
import { parse } from '../validate.js';

const LoginSchema = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(200) }).strict();

export interface SessionOptions {
  registry: Registry;
  secureCookies: boolean;
}

export async function sessionPlugin(app: FastifyInstance, { registry, secureCookies }: SessionOptions): Promise<void> {
  app.post(
    '/api/login',
    {
      // Throttle guessing per username and address: 10 attempts per 15 minutes.
      config: {
        rateLimit: {
          hook: 'preHandler', // after body parsing, so the key can include the username
          max: 10,
          timeWindow: 15 * 60_000,
          keyGenerator: (request) => `${request.ip}|${String((request.body as { username?: unknown } | undefined)?.username ?? '')}`,
        },
      },
    },
    async (request, reply) => {
      const { username, password } = parse(LoginSchema, request.body);
      const staff = await registry.verifyStaff(username, password);
      if (!staff) throw new PlatformError('unauthenticated', 'wrong username or password');
      const token = registry.createSession(staff.id);
      reply.setCookie(SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'strict', secure: secureCookies, maxAge: 12 * 3600 });
      request.log.info({ username: staff.username, role: staff.role }, 'staff logged in');
      return { token, staff };
    },
  );

  app.post('/api/logout', { preHandler: requireStaff(registry) }, async (request, reply) => {
    const token = tokenOf(request);
    if (token) registry.deleteSession(token);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return { ok: true };
  });

  // 200 with `staff: null` when logged out: the console asks on every load, and that is not an error.
  app.get('/api/me', async (request) => {
    const token = tokenOf(request);
    return { staff: (token && registry.staffForSession(token)) || null };
  });
}
