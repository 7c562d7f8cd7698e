import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PlatformError } from '../../core/errors.js';
import type { Registry } from '../../registry/store.js';
import { SESSION_COOKIE, requireStaff, tokenOf } from '../auth.js';
import { createLoginThrottle, type ThrottleLimits } from '../login-throttle.js';
import { parse } from '../validate.js';

const LoginSchema = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(200) }).strict();

export interface SessionOptions {
  registry: Registry;
  secureCookies: boolean;
  loginLimits?: ThrottleLimits;
}

export async function sessionPlugin(app: FastifyInstance, { registry, secureCookies, loginLimits }: SessionOptions): Promise<void> {
  // Failures per username and address (10 per 15 min) and per address (50); see login-throttle.ts.
  const throttle = createLoginThrottle(loginLimits);

  app.post(
    '/api/login',
    async (request, reply) => {
      const { username, password } = parse(LoginSchema, request.body);
      const wait = throttle.retryAfterMs(request.ip, username, Date.now());
      if (wait > 0) {
        reply.header('retry-after', String(Math.ceil(wait / 1000)));
        throw new PlatformError('rate_limited', 'too many failed logins; try again later');
      }
      throttle.attempt(request.ip, username, Date.now());
      const staff = await registry.verifyStaff(username, password);
      if (!staff) throw new PlatformError('unauthenticated', 'wrong username or password');
      throttle.succeeded(request.ip, username, Date.now());
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
