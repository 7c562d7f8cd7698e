import { Aedes, type Client } from 'aedes';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { ReadingError } from '../core/schemas/readings.js';
import type { Ingest } from '../ingest/index.js';
import type { Registry } from '../registry/store.js';
import { createAuthenticate } from './hooks/authenticate.js';
import { createAuthorizePublish } from './hooks/authorize-publish.js';
import { createAuthorizeSubscribe } from './hooks/authorize-subscribe.js';
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
  close(): Promise<void>;
}

function listen(server: NetServer | HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function startBroker(config: Pick<Config, 'host' | 'mqtt'>, deps: BrokerDeps): Promise<BrokerHandle> {
  const { registry, ingest, bus, clock, log, metrics } = deps;
  const broker = await Aedes.createBroker({
    authenticate: createAuthenticate(registry, metrics, log),
    authorizeSubscribe: createAuthorizeSubscribe(metrics),
  });
  const sendErrors = (deviceId: string, errors: ReadingError[]) => {
    for (const e of errors) {
      broker.publish({ cmd: 'publish', topic: errorsTopic(deviceId), payload: Buffer.from(JSON.stringify(e)), qos: 1, retain: false, dup: false }, () => {});
    }
  };
  // aedes reads its hooks from the instance, so the publish hook can use the broker it belongs to.
  broker.authorizePublish = createAuthorizePublish({ ingest, bus, clock, log, metrics, sendErrors });

  broker.on('clientReady', () => metrics.brokerConnections.set(broker.connectedClients));
  // A clean DISCONNECT is not "offline": the will (an unclean drop) and status messages say that,
  // and both pass through authorizePublish.
  broker.on('clientDisconnect', () => metrics.brokerConnections.set(broker.connectedClients));
  broker.on('clientError', (client: Client, err: Error) => log.debug({ clientId: client.id, err: err.message }, 'client error'));
  broker.on('connectionError', (client: Client, err: Error) => log.debug({ clientId: client?.id, err: err.message }, 'connection error'));

  const tcp = createNetServer((socket) => broker.handle(socket));
  const http = createHttpServer((_req, res) => res.writeHead(426).end('MQTT over WebSocket at /mqtt'));
  const wss = new WebSocketServer({ server: http, path: '/mqtt' });
  wss.on('connection', (ws, req) => broker.handle(createWebSocketStream(ws), req));
  const servers: (NetServer | HttpServer)[] = [tcp, http];

  const ports: BrokerHandle['ports'] = {
    mqtt: await listen(tcp, config.mqtt.port, config.host),
    ws: await listen(http, config.mqtt.wsPort, config.host),
  };
  if (config.mqtt.tls) {
    const tls = createTlsServer(
      { cert: readFileSync(config.mqtt.tls.certFile), key: readFileSync(config.mqtt.tls.keyFile) },
      (socket) => broker.handle(socket),
    );
    servers.push(tls);
    ports.tls = await listen(tls, config.mqtt.tls.port, config.host);
  }
  log.info({ ports }, 'broker listening');

  return {
    ports,
    listening: () => servers.every((s) => s.listening),
    async close() {
      for (const client of wss.clients) client.terminate();
      await Promise.all([...servers.map(closeServer), new Promise<void>((resolve) => broker.close(() => resolve()))]);
    },
  };
}
