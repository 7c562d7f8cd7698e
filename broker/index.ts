import { Aedes, type Client, type PublishPacket } from 'aedes';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Bus } from '../core/bus.js';
import type { BusTransport } from '../core/mqtt-bus.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { ReadingError } from '../core/schemas/readings.js';
import type { Ingest } from '../ingest/index.js';
import type { Registry } from '../registry/store.js';
import { createAuthenticate, identities, serviceClients, serviceCredentials } from './hooks/authenticate.js';
import { createAuthorizePublish, takenReadings } from './hooks/authorize-publish.js';
import { createAuthorizeSubscribe } from './hooks/authorize-subscribe.js';
import { DeviceRateLimiter, MAX_PACKET_BYTES, limitPacketSize } from './limits.js';
import { throttledLog } from './throttled-log.js';
import { errorsTopic } from './topics.js';

export interface BrokerDeps {
  registry: Registry;
  ingest: Ingest;
  bus: Bus;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

export interface BrokerHandle {
  ports: { mqtt: number; ws: number; tls?: number };
  listening(): boolean;
  /** The services' bus in the broker's own process: straight into aedes, no client, no socket (split processes). */
  busTransport(): BusTransport;
  close(): Promise<void>;
}

/** With `bus.secret`, the platform's services may connect as `svc:<service>` (DESIGN §3 split processes). */
type BrokerConfig = Pick<Config, 'host' | 'mqtt'> & { limits?: Config['limits']; bus?: Pick<Config['bus'], 'secret'> };

const DEFAULT_LIMITS: Config['limits'] = { maxConnections: 100_000, deviceRate: 50, deviceBurst: 200 };

function listen(server: NetServer | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * aedes itself as a transport of the services' bus: its own publishes and subscriptions, which no
 * hook checks (the broker trusts its own process), delivered to the other services' connections.
 */
function aedesTransport(aedes: Aedes): BusTransport {
  type Deliver = (packet: { topic: string; payload: string | Buffer }, done: () => void) => void;
  let onMessage: (topic: string, payload: Buffer) => void = () => {};
  const subscribed = new Map<string, Deliver>();
  return {
    onMessage: (handler) => void (onMessage = handler),
    subscribe: (topic) => new Promise<void>((resolve) => {
      const deliver: Deliver = (packet, done) => {
        onMessage(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
        done();
      };
      subscribed.set(topic, deliver);
      aedes.subscribe(topic, deliver, resolve);
    }),
    unsubscribe(topic) {
      const deliver = subscribed.get(topic);
      if (!deliver) return;
      subscribed.delete(topic);
      aedes.unsubscribe(topic, deliver, () => {});
    },
    publish: (topic, payload, done) => aedes.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (err) => done(err ?? undefined)),
    connected: () => !aedes.closed,
    async close() {
      for (const topic of [...subscribed.keys()]) this.unsubscribe(topic);
    },
  };
}

function closeServer(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * On its first write mqtt-packet fills a cache of 65,536 two-byte Buffers (6 MB of heap, and 65,536 more
 * objects for every full GC to mark, for as long as the process lives); without it each packet id or length
 * written costs one small pooled Buffer. Set on the copy aedes itself resolves, the one that writes.
 */
function disablePacketNumberCache(): void {
  const requireFromAedes = createRequire(createRequire(import.meta.url).resolve('aedes'));
  (requireFromAedes('mqtt-packet') as { writeToStream: { cacheNumbers: boolean } }).writeToStream.cacheNumbers = false;
}

/** aedes keeps connected clients by id; its typings do not show it. */
const clientsOf = (broker: Aedes) => (broker as unknown as { clients: Record<string, Client | undefined> }).clients;

/**
 * The device-facing MQTT 3.1.1 broker (CONTRACT §2): TCP, WebSocket on `/mqtt`,
 * TLS when a certificate is configured. An MQTT 5 CONNECT gets CONNACK 1
 * (unacceptable protocol version) from aedes itself.
 */
export async function startBroker(config: BrokerConfig, deps: BrokerDeps): Promise<BrokerHandle> {
  const { registry, ingest, bus, clock, log, metrics } = deps;
  const limits = config.limits ?? DEFAULT_LIMITS;
  const refusals = throttledLog(log);
  // Called only once aedes exists (at CONNECT).
  const capacity = {
    max: limits.maxConnections,
    connected: () => aedes.connectedClients,
    isConnected: (clientId: string) => Boolean(clientsOf(aedes)[clientId]),
  };
  disablePacketNumberCache();
  const services = config.bus?.secret ? await serviceCredentials(config.bus.secret) : undefined;
  const aedes = await Aedes.createBroker({
    authenticate: createAuthenticate(registry, metrics, log, refusals, capacity, services),
    authorizeSubscribe: createAuthorizeSubscribe(metrics),
  });
  const sendErrors = (deviceId: string, errors: ReadingError[]) => {
    for (const e of errors) {
      aedes.publish({ cmd: 'publish', topic: errorsTopic(deviceId), payload: Buffer.from(JSON.stringify(e)), qos: 1, retain: false, dup: false }, () => {});
    }
  };
  // aedes reads its hooks from the instance, so the publish hook can use the broker it belongs to.
  aedes.authorizePublish = createAuthorizePublish({
    ingest, bus, clock, log, metrics, refusals, sendErrors,
    rateLimiter: new DeviceRateLimiter(limits.deviceRate, limits.deviceBurst, clock),
  });

  // After PUBACK aedes delivers a message to its subscribers: it looks them up in its
  // persistence and its emitter, ~4 % of the platform's CPU in the gateway mix. A readings
  // topic can have none (authorizeSubscribe allows a device its errors topic only) and the
  // outbox has the readings already, so a taken readings message ends there.
  // Its handlers call publish(packet, client, done); its typings show (packet, done) only.
  type Publish = (packet: PublishPacket, client: Client | null, done?: (err?: Error) => void) => void;
  const deliver = aedes.publish.bind(aedes) as unknown as Publish;
  (aedes as unknown as { publish: Publish }).publish = (packet, client, done) => {
    if (takenReadings.has(packet)) done?.();
    else deliver(packet, client, done);
  };

  // The gauge counts the services' few connections too. A service has no device identity, so its
  // connections never become device status.
  aedes.on('clientReady', (client: Client) => {
    metrics.brokerConnections.set(aedes.connectedClients);
    const service = serviceClients.get(client);
    if (service) log.info({ service }, 'service connected');
  });
  // A clean DISCONNECT is not "offline": the will (an unclean drop) and status messages say that,
  // and both pass through authorizePublish.
  aedes.on('clientDisconnect', (client: Client) => {
    metrics.brokerConnections.set(aedes.connectedClients);
    const service = serviceClients.get(client);
    if (service) log.info({ service }, 'service disconnected');
  });
  aedes.on('clientError', (client: Client, err: Error) => log.debug({ clientId: client.id, err: err.message }, 'client error'));
  aedes.on('connectionError', (client: Client, err: Error) => log.debug({ clientId: client?.id, err: err.message }, 'connection error'));

  // A device disabled (or its resident disabled) while connected is disconnected at once, without its will:
  // it was switched off, it did not go offline.
  const disconnect = (client: Client, reason: string) => {
    metrics.brokerRejections.inc({ reason });
    log.info({ deviceId: client.id, reason }, 'disconnecting a device');
    (client as unknown as { will: unknown }).will = null;
    client.close();
  };
  const unsubscribe = [
    bus.subscribe('device', (device) => {
      const client = clientsOf(aedes)[device.id];
      if (client && !device.enabled) disconnect(client, 'device_disabled');
    }),
    bus.subscribe('resident', (resident) => {
      if (resident.enabled) return;
      for (const client of Object.values(clientsOf(aedes))) {
        if (client && identities.get(client)?.residentId === resident.id) disconnect(client, 'resident_disabled');
      }
    }),
  ];

  const handle = (stream: Parameters<Aedes['handle']>[0], req?: Parameters<Aedes['handle']>[1]) => {
    const client = aedes.handle(stream, req);
    limitPacketSize(client, MAX_PACKET_BYTES, () => metrics.brokerRejections.inc({ reason: 'packet_too_large' }));
  };
  const tcp = createNetServer((socket: Socket) => handle(socket));
  const http = createHttpServer((_req, res) => res.writeHead(426).end('MQTT over WebSocket at /mqtt'));
  const wss = new WebSocketServer({ server: http, path: '/mqtt', maxPayload: MAX_PACKET_BYTES + 16 });
  wss.on('connection', (ws, req) => handle(createWebSocketStream(ws), req));
  const servers: (NetServer | HttpServer)[] = [tcp, http];

  const ports: BrokerHandle['ports'] = {
    mqtt: await listen(tcp, config.mqtt.port, config.host),
    ws: await listen(http, config.mqtt.wsPort, config.host),
  };
  if (config.mqtt.tls) {
    const tls = createTlsServer(
      { cert: readFileSync(config.mqtt.tls.certFile), key: readFileSync(config.mqtt.tls.keyFile) },
      (socket) => handle(socket),
    );
    tls.on('tlsClientError', (err) => log.debug({ err: err.message }, 'tls handshake failed'));
    servers.push(tls);
    ports.tls = await listen(tls, config.mqtt.tls.port, config.host);
  }
  log.info({ ports, limits, serviceAccounts: Boolean(services) }, 'broker listening');

  return {
    ports,
    listening: () => servers.every((s) => s.listening),
    busTransport: () => aedesTransport(aedes),
    async close() {
      for (const u of unsubscribe) u();
      for (const client of wss.clients) client.terminate();
      await Promise.all([...servers.map(closeServer), new Promise<void>((resolve) => aedes.close(() => resolve()))]);
    },
  };
}
