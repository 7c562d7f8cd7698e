import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { startBroker, type BrokerHandle } from '../../broker/index.js';
import { createInProcessBus, type Bus } from '../../core/bus.js';
import { systemClock } from '../../core/clock.js';
import type { Config } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { createMetrics, type Metrics } from '../../core/metrics.js';
import type { Ingest } from '../../ingest/index.js';
import { openRegistry } from '../../registry/store.js';

export interface TestBroker {
  broker: BrokerHandle;
  url: string;
  /** The broker's in-process bus (device status, registry changes). */
  bus: Bus;
  metrics: Metrics;
  /** Readings messages the broker handed to ingest. */
  accepted(): number;
  addDevice(): Promise<{ id: string; secret: string }>;
  connectDevice(device: { id: string; secret: string }): Promise<MqttClient>;
  close(): Promise<void>;
}

/**
 * The broker alone on a free port, with a real registry in a temporary directory and an ingest
 * that only counts what it is handed: for tests of connections and topics, which need no InfluxDB.
 * Always `close()` it.
 */
export async function startTestBroker(options: { busSecret?: string; limits?: Config['limits'] } = {}): Promise<TestBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'dh-broker-'));
  const log = createLogger(process.env.TEST_LOG_LEVEL ?? 'warn');
  const metrics = createMetrics();
  const bus = createInProcessBus((topic, err) => log.error({ topic, err: (err as Error).message }, 'bus subscriber failed'));
  const registry = openRegistry(join(dataDir, 'registry.db'), { bus, clock: systemClock });
  let accepted = 0;
  // The broker hands readings to accept() and uses nothing else of ingest.
  const ingest: Pick<Ingest, 'accept'> = {
    accept: async () => {
      accepted++;
      return [];
    },
  };
  let broker: BrokerHandle;
  try {
    broker = await startBroker(
      {
        host: '127.0.0.1', mqtt: { port: 0, wsPort: 0 },
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.busSecret ? { bus: { secret: options.busSecret } } : {}),
      },
      { registry, ingest: ingest as Ingest, bus, clock: systemClock, log, metrics },
    );
  } catch (err) {
    registry.close();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const url = `mqtt://127.0.0.1:${broker.ports.mqtt}`;
  const resident = registry.createResident({ displayName: '테스트 어르신', dong: '1111051500' });
  return {
    broker,
    url,
    bus,
    metrics,
    accepted: () => accepted,
    async addDevice() {
      const { device, secret } = await registry.createDevice({ residentId: resident.id, kind: 'gateway' });
      return { id: device.id, secret };
    },
    connectDevice: (device) =>
      mqtt.connectAsync(url, { clientId: device.id, username: device.id, password: device.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000 }),
    async close() {
      await broker.close();
      registry.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
