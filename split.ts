import Fastify from 'fastify';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createObservationFeed } from './alerts/observation-feed.js';
import { remoteAlerts, serveStaffActions } from './alerts/remote.js';
import { startAlerts } from './alerts/index.js';
import { openAlertStore } from './alerts/store.js';
import { startBroker } from './broker/index.js';
import { createInProcessBus, type Bus } from './core/bus.js';
import { bridgeBus } from './core/bus-bridge.js';
import { createCleanups, type Cleanups } from './core/cleanups.js';
import { PlatformError } from './core/errors.js';
import { systemClock, type Clock } from './core/clock.js';
import type { Config, ServiceName } from './core/config.js';
import { createLogger, type Logger } from './core/logger.js';
import { createMetrics, type Metrics } from './core/metrics.js';
import { connectMqttBus, createMqttBus, type MqttBus } from './core/mqtt-bus.js';
import type { ObservedMessage } from './core/schemas/observation.js';
import { connectInflux } from './influx/client.js';
import { startIngest, type ReplayPage } from './ingest/index.js';
import { bootstrapAdmin, ingestHealth } from './platform.js';
import { openRegistry, type Registry } from './registry/store.js';
import { buildApp } from './web/app.js';
import { opsPlugin, type HealthReport } from './web/plugins/ops.js';
import { attachConsoleSocket } from './web/socket/console.js';

/** Readings per replay page: whole messages, so up to 499 more; well under the bus's message size. */
const REPLAY_PAGE_READINGS = 300;
const FIRST_SCAN_WAIT_MS = 60_000;
const DEVICES_HEARD_EVERY_MS = 1000;

export interface SplitService {
  service: Exclude<ServiceName, 'all'>;
  /** HTTP: the console (web) or /healthz and /metrics (broker, alerts); MQTT only for the broker. */
  ports: { http: number; mqtt?: number; ws?: number; tls?: number };
  close(): Promise<void>;
}

interface Parts {
  config: Readonly<Config>;
  service: Exclude<ServiceName, 'all'>;
  log: Logger;
  metrics: Metrics;
  clock: Clock;
  /** The process's own bus: its modules talk to it as in the embedded platform. */
  local: Bus;
  cleanups: Cleanups;
  connectBus(): Promise<MqttBus>;
}

/**
 * One service of the split (CONTRACT §1, DESIGN §3): `SERVICE=broker|alerts|web`, each in its own
 * process, the processes meeting on the services' bus (MQTT on our broker, service accounts with
 * BUS_SECRET) and sharing DATA_DIR (one writer per SQLite file). The broker service also runs
 * ingest: a reading is PUBACKed only once it is durable in the outbox (DESIGN §2), and that append
 * must happen in the process that sends the PUBACK.
 */
export async function startSplitService(config: Readonly<Config>, options: { log?: Logger; clock?: Clock } = {}): Promise<SplitService> {
  if (config.service === 'all') throw new Error('startSplitService runs one service; use startPlatform for all of them');
  if (!config.bus.secret) throw new Error('BUS_SECRET is needed by the services of a split');
  const service = config.service;
  const log = (options.log ?? createLogger(config.logLevel)).child({ svc: service });
  const local = createInProcessBus((topic, err) => log.error({ topic, err: (err as Error).message }, 'bus subscriber failed'));
  mkdirSync(config.dataDir, { recursive: true });
  const cleanups = createCleanups(log);
  const close = () => cleanups.run();
  const parts: Parts = {
    config, service, log, metrics: createMetrics(), clock: options.clock ?? systemClock, local, cleanups,
    async connectBus() {
      const bus = await connectMqttBus({ url: config.bus.url, service, secret: config.bus.secret!, log: log.child({ part: 'bus' }) });
      cleanups.push(() => bus.close());
      return bus;
    },
  };
  try {
    const ports = service === 'broker' ? await startBrokerService(parts) : service === 'alerts' ? await startAlertsService(parts) : await startWebService(parts);
    log.info({ service, ...ports }, 'donghaeng care service is up');
    return { service, ports, close };
  } catch (err) {
    await close();
    throw err;
  }
}

function openSharedRegistry(p: Parts): Registry {
  const registry = openRegistry(join(p.config.dataDir, 'registry.db'), { bus: p.local, clock: p.clock });
  p.cleanups.push(() => registry.close());
  return registry;
}

/**
 * A service's health with its bus connection: degraded, not down, while it is lost (the service
 * works on; what it tells the others waits, and a catch-up follows where it matters).
 */
function withBus(report: HealthReport, bus: MqttBus): HealthReport {
  const ok = bus.connected();
  return { status: ok || report.status === 'down' ? report.status : 'degraded', checks: { ...report.checks, bus: { ok } } };
}

/** /healthz and /metrics of a service without the console. */
async function listenOps(p: Parts, health: () => HealthReport): Promise<number> {
  const app = Fastify({ logger: false });
  await app.register(opsPlugin, { metrics: p.metrics, health });
  await app.listen({ port: p.config.http.port, host: p.config.host });
  p.cleanups.push(() => app.close());
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : p.config.http.port;
}

/**
 * `devices-heard` from the observations, once per interval: the console needs when each device was
 * last heard, not every reading (which would cross the bus a second time to get there).
 * Returns the stop.
 */
function summarizeDevicesHeard(local: Bus, everyMs: number): () => void {
  const heard = new Map<string, number>();
  const unsubscribe = local.subscribe('observations', (messages) => {
    for (const m of messages) if (m.receivedAt > (heard.get(m.deviceId) ?? 0)) heard.set(m.deviceId, m.receivedAt);
  });
  const timer = setInterval(() => {
    if (heard.size === 0) return;
    local.publish('devices-heard', Array.from(heard, ([deviceId, at]) => ({ deviceId, at })));
    heard.clear();
  }, everyMs);
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
}

/** Broker and ingest: devices in, the outbox, InfluxDB; observations and device status out. */
async function startBrokerService(p: Parts): Promise<SplitService['ports']> {
  const { config, log, metrics, clock, local } = p;
  const influx = await connectInflux({ ...config.influx, url: config.influx.url! }, log.child({ part: 'influx' }));
  await influx.ensureDatabase();
  const registry = openSharedRegistry(p);
  let alertsCursor = 0; // nothing is deleted for the alerts service until it says how far it is durable
  const ingest = startIngest({ dataDir: config.dataDir, bus: local, clock, log: log.child({ part: 'ingest' }), metrics, influx, consumerCursor: () => alertsCursor });
  p.cleanups.push(() => ingest.close());
  const bridge = bridgeBus(local, { outbound: ['observations', 'device-status', 'devices-heard'], inbound: ['resident', 'device'] });
  p.cleanups.push(() => bridge.close());
  p.cleanups.push(summarizeDevicesHeard(local, DEVICES_HEARD_EVERY_MS));
  const broker = await startBroker(config, { registry, ingest, bus: local, clock, log, metrics });
  p.cleanups.push(() => broker.close());

  // Straight into the broker just started: its share of the bus (every observation) skips a client and a socket.
  const bus = createMqttBus(broker.busTransport(), { service: 'broker', log: log.child({ part: 'bus' }) });
  p.cleanups.push(() => bus.close());
  bridge.attach(bus);
  bus.subscribe('alerts-cursor', (cursor) => {
    alertsCursor = Math.max(alertsCursor, cursor);
  });
  bus.serve({
    replayPage: (params: unknown): ReplayPage => {
      const after = (params as { after?: unknown }).after;
      if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0) throw new PlatformError('bad_request', 'replayPage: after must be a whole number ≥ 0', 'after');
      return ingest.replayPage(after, REPLAY_PAGE_READINGS);
    },
  });
  await bus.ready();
  const http = await listenOps(p, () => withBus(ingestHealth(ingest, broker), bus));
  return { http, ...broker.ports };
}

/** The alerts engine: observations, registry changes and device status in; alerts out; staff actions answered. */
async function startAlertsService(p: Parts): Promise<SplitService['ports']> {
  const { config, log, metrics, clock, local } = p;
  const registry = openSharedRegistry(p);
  // The first deadline scan waits for the outbox's backlog (or a minute at most: with the broker
  // service away no device is heard either, and missed check-ins must not wait for ever).
  let caughtUp!: () => void;
  const backlogRead = new Promise<void>((resolve) => (caughtUp = resolve));
  const firstScanTimer = setTimeout(caughtUp, FIRST_SCAN_WAIT_MS);
  p.cleanups.push(() => clearTimeout(firstScanTimer));
  const alerts = startAlerts({
    dataDir: config.dataDir, bus: local, clock, log, metrics,
    residents: registry.eachResident(), devices: registry.eachDevice(), directory: registry,
    scanIntervalMs: config.alerts.scanIntervalMs, escalation: config.alerts.escalation, confirmWarningsMs: config.alerts.confirmWarningsMs,
    firstScanAfter: backlogRead,
  });
  p.cleanups.push(() => alerts.close());
  const bridge = bridgeBus(local, { outbound: ['alert'], inbound: ['resident', 'device', 'device-status'] });
  p.cleanups.push(() => bridge.close());

  const bus = await p.connectBus();
  const feed = createObservationFeed({
    processedThrough: () => alerts.processedThrough(),
    handle: (messages) => local.publish('observations', messages as ObservedMessage[]),
    fetchPage: (after) => bus.request<ReplayPage>('broker', 'replayPage', { after }),
    log,
  });
  p.cleanups.push(() => feed.close());
  bus.subscribe('observations', (messages) => feed.offer(messages));
  bridge.attach(bus);
  serveStaffActions(bus, alerts);
  // The broker service deletes outbox rows only at or below this. Said every interval, not only when
  // it moves: a broker service that restarted knows nothing until it hears it again.
  const tellCursor = () => bus.publish('alerts-cursor', alerts.durableCursor());
  const cursorTimer = setInterval(tellCursor, Math.max(250, config.alerts.scanIntervalMs));
  p.cleanups.push(() => clearInterval(cursorTimer));
  await bus.ready();
  tellCursor();
  let current = false;
  void feed.caughtUp().then(() => {
    current = true;
    caughtUp();
  });
  const http = await listenOps(p, () => withBus({
    // Degraded, not down, while the outbox is still being read: alerts come, later than they should.
    status: current ? 'ok' : 'degraded',
    checks: { observations: { ok: current, detail: alerts.processedThrough() } },
  }, bus));
  return { http };
}

/** The console and the staff API: the registry's writer; alerts read from the alerts store, staff actions sent to the alerts service. */
async function startWebService(p: Parts): Promise<SplitService['ports']> {
  const { config, log, metrics, local } = p;
  const influx = await connectInflux({ ...config.influx, url: config.influx.url! }, log.child({ part: 'influx' }));
  const registry = openSharedRegistry(p);
  await bootstrapAdmin(config, registry, log);
  const store = openAlertStore(join(config.dataDir, 'alerts.db'));
  p.cleanups.push(() => store.close());
  // 'staff' stays in this process: only the console changes staff, and only its sockets care.
  const bridge = bridgeBus(local, { outbound: ['resident', 'device'], inbound: ['alert', 'device-status', 'devices-heard'] });
  p.cleanups.push(() => bridge.close());
  const bus = await p.connectBus();
  bridge.attach(bus);
  await bus.ready();

  const alerts = remoteAlerts(store, bus);
  const health = (): HealthReport => withBus({ status: 'ok', checks: {} }, bus);
  const app = await buildApp({ registry, alerts, influx, bus: local, metrics, log, health, tzDisplay: config.tzDisplay });
  const sockets = attachConsoleSocket(app.server, { registry, alerts, bus: local, log, metrics });
  p.cleanups.push(async () => {
    await sockets.close();
    await app.close();
  });
  await app.listen({ port: config.http.port, host: config.host });
  const address = app.server.address();
  return { http: typeof address === 'object' && address ? address.port : config.http.port };
}
