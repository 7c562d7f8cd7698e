import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AlertsView } from '../alerts/index.js';
import type { Bus } from '../core/bus.js';
import { PlatformError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { InfluxClient } from '../influx/client.js';
import type { Registry } from '../registry/store.js';
import { trackDeviceStatus } from './device-status.js';
import type { ThrottleLimits } from './login-throttle.js';
import { alertsPlugin } from './plugins/alerts.js';
import { opsPlugin, type HealthReport } from './plugins/ops.js';
import { registryPlugin } from './plugins/registry.js';
import { residentsPlugin } from './plugins/residents.js';
import { sessionPlugin } from './plugins/session.js';

export interface WebDeps {
  registry: Registry;
  alerts: AlertsView;
  influx: InfluxClient;
  bus: Bus;
  metrics: Metrics;
  log: Logger;
  health: () => HealthReport;
  tzDisplay: string;
  secureCookies?: boolean;
  loginLimits?: ThrottleLimits;
}

// The console's static files sit in web/public both when run from source and from dist/.
const here = dirname(fileURLToPath(import.meta.url));
const publicDir = [join(here, 'public'), join(here, '../../web/public')].find((d) => existsSync(d))!;
// uPlot is served from node_modules as it is (no CDN, no copy): only these two files.
const uplotDir = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
const uplotFiles = new Set(['/uPlot.esm.js', '/uPlot.min.css']);

/** Builds the console app without listening, so tests can use `app.inject()`. */
export async function buildApp(deps: WebDeps): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({ loggerInstance: deps.log as FastifyBaseLogger,
    // Per-request lines would drown the operational log; errors are still logged by the handler below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 256 * 1024, trustProxy: false });

  // JSON bodies only: a cross-site form cannot send application/json, which with SameSite=Strict makes CSRF moot.
  app.removeContentTypeParser('text/plain');

  app.setErrorHandler((err: FastifyError | PlatformError, request, reply) => {
    if (err instanceof PlatformError) return reply.code(err.httpStatus).send(err.toJSON());
    const status = err.statusCode ?? 500;
    if (status >= 500) request.log.error({ err }, 'request failed');
    const code = status === 429 ? 'rate_limited' : status === 415 ? 'bad_request' : status < 500 ? 'bad_request' : 'internal';
    return reply.code(status).send({ error: code, message: status >= 500 ? 'internal error' : err.message });
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found', message: 'no such route' }));

  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
        upgradeInsecureRequests: null,
      },
    },
    hsts: false, // the platform may be served over plain HTTP on a closed network; TLS terminates in front
  });
  await app.register(cookie);
  await app.register(fastifyStatic, { root: publicDir, index: 'index.html' });
  await app.register(fastifyStatic, {
    root: uplotDir, prefix: '/vendor/uplot/', decorateReply: false, allowedPath: (path) => uplotFiles.has(path),
  });
  app.get('/config.json', async () => ({ tzDisplay: deps.tzDisplay }));

  const deviceStatus = trackDeviceStatus(deps.bus);
  app.addHook('onClose', async () => deviceStatus.close());

  await app.register(sessionPlugin, {
    registry: deps.registry, secureCookies: deps.secureCookies ?? false, ...(deps.loginLimits ? { loginLimits: deps.loginLimits } : {}),
  });
  await app.register(alertsPlugin, { registry: deps.registry, alerts: deps.alerts });
  await app.register(async (scoped) => {
    await residentsPlugin(scoped, { registry: deps.registry, alerts: deps.alerts, influx: deps.influx, deviceStatus });
  });
  await app.register(async (admin) => {
    await registryPlugin(admin, { registry: deps.registry, deviceStatus });
  });
  await app.register(opsPlugin, { metrics: deps.metrics, health: deps.health });
  return app;
}
