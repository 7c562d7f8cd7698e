import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startAlerts, type AlertsService } from './alerts/index.js';
import { startBroker, type BrokerHandle } from './broker/index.js';
import { createInProcessBus, type Bus } from './core/bus.js';
import { createCleanups } from './core/cleanups.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Config } from './core/config.js';
import { createLogger, type Logger } from './core/logger.js';
import { createMetrics, type Metrics } from './core/metrics.js';
import { newSecret } from './core/secrets.js';
import { connectInflux, type InfluxClient } from './influx/client.js';
import { startManagedInfluxd, type ManagedInfluxd } from './influx/managed-influxd.js';
import { startIngest, type Ingest } from './ingest/index.js';
import { openRegistry, type Registry } from './registry/store.js';
import { buildApp } from './web/app.js';
import type { HealthReport } from './web/plugins/ops.js';
import { attachConsoleSocket } from './web/socket/console.js';

export interface PlatformOptions {
  clock?: Clock;
  log?: Logger;
}

export interface Platform {
  ports: { http: number; mqtt: number; ws: number; tls?: number };
  influx: InfluxClient;
  /** The influxd this platform started (no INFLUX_URL); tests stop and start it to simulate an outage. */
  managedInfluxd?: ManagedInfluxd;
  registry: Registry;
  alerts: AlertsService;
  ingest: Ingest;
  broker: BrokerHandle;
  bus: Bus;
  metrics: Metrics;
  health(): HealthReport;
  close(): Promise<void>;
}

// Readings older than this in the outbox mean InfluxDB is not keeping up.
const LAG_DEGRADED_SECONDS = 60;

/** Creates the first administrator; without ADMIN_PASSWORD a generated one goes to a 0600 file, never to the log. */
export async function bootstrapAdmin(config: Config, registry: Registry, log: Logger): Promise<void> {
  if (registry.hasAdmin()) return;
  const password = config.admin.password ?? newSecret().slice(0, 20);
  await registry.createStaff({ username: config.admin.username, password, displayName: '관리자', role: 'admin', dongs: ['*'] });
  if (config.admin.password) {
    log.info({ username: config.admin.username }, 'administrator created');
  } else {
    const file = join(resolve(config.dataDir), 'admin-password');
    writeFileSync(file, `${password}\n`, { mode: 0o600 });
    log.warn({ username: config.admin.username, file }, 'administrator created with a generated password; read it from the file');
  }
}

/** The broker's and ingest's health: down without a store or a listener, degraded while InfluxDB is away or far behind. */
export function ingestHealth(ingest: Ingest, broker: BrokerHandle): HealthReport {
  const h = ingest.health();
  const brokerUp = broker.listening();
  const status = !h.storeWritable || !brokerUp ? 'down' : !h.influxReachable || h.lagSeconds > LAG_DEGRADED_SECONDS ? 'degraded' : 'ok';
  return {
    status,
    checks: {
      store: { ok: h.storeWritable, ...(h.storeError ? { detail: h.storeError } : {}) },
      broker: { ok: brokerUp },
      influxdb: { ok: h.influxReachable, ...(h.lastError ? { detail: h.lastError } : {}) },
      backlog: { ok: h.lagSeconds <= LAG_DEGRADED_SECONDS, detail: h.backlog },
    },
  };
}

/** The composition root: broker, ingest, alerts and web in one process (DESIGN §3 embedded default). */
export async function startPlatform(config: Readonly<Config>, options: PlatformOptions = {}): Promise<Platform> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const bus = createInProcessBus((topic, err) => log.error({ topic, err: (err as Error).message }, 'bus subscriber failed'));
  mkdirSync(config.dataDir, { recursive: true });

  const cleanups = createCleanups(log);
  const close = () => cleanups.run();

  try {
    let managed: ManagedInfluxd | undefined;
    if (!config.influx.url) {
      managed = await startManagedInfluxd(join(config.dataDir, 'influxdb'), log.child({ svc: 'influxd' }));
      cleanups.push(() => managed!.stop());
    }
    const influx = await connectInflux({ ...config.influx, url: config.influx.url ?? managed!.url }, log.child({ svc: 'influx' }));
    await influx.ensureDatabase();

    const registry = openRegistry(join(config.dataDir, 'registry.db'), { bus, clock });
    cleanups.push(() => registry.close());
    await bootstrapAdmin(config, registry, log);

    // Outbox rows stay until the alerts engine has made them durable; it starts after ingest, so the cursor is bound late.
    let alertsCursor = (): number => 0;
    const ingest = startIngest({ dataDir: config.dataDir, bus, clock, log: log.child({ svc: 'ingest' }), metrics, influx, consumerCursor: () => alertsCursor() });
    cleanups.push(() => ingest.close());

    const alerts = startAlerts({
      dataDir: config.dataDir, bus, clock, log: log.child({ svc: 'alerts' }), metrics,
      residents: registry.eachResident(), devices: registry.eachDevice(), directory: registry,
      scanIntervalMs: config.alerts.scanIntervalMs, escalation: config.alerts.escalation, confirmWarningsMs: config.alerts.confirmWarningsMs,
    });
    cleanups.push(() => alerts.close());
    alertsCursor = () => alerts.durableCursor();
    ingest.replay(alerts.durableCursor()); // what the engine had not made durable before the last stop, before any new reading

    const broker = await startBroker(config, { registry, ingest, bus, clock, log: log.child({ svc: 'broker' }), metrics });
    cleanups.push(() => broker.close());

    const health = () => ingestHealth(ingest, broker);

    const webLog = log.child({ svc: 'web' });
    const app = await buildApp({ registry, alerts, influx, bus, metrics, log: webLog, health, tzDisplay: config.tzDisplay });
    const sockets = attachConsoleSocket(app.server, { registry, alerts, bus, log: webLog, metrics });
    cleanups.push(async () => {
      await sockets.close();
      await app.close();
    });
    await app.listen({ port: config.http.port, host: config.host });
    const address = app.server.address();
    const httpPort = typeof address === 'object' && address ? address.port : config.http.port;
    log.info({ http: httpPort, ...broker.ports }, 'donghaeng care is up');

    return {
      ports: { http: httpPort, ...broker.ports }, influx, ...(managed ? { managedInfluxd: managed } : {}),
      registry, alerts, ingest, broker, bus, metrics, health, close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
