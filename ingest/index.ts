import { join } from 'node:path';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { Observation } from '../core/schemas/observation.js';
import { parseReadingsPayload, type ReadingError } from '../core/schemas/readings.js';
import type { InfluxClient } from '../influx/client.js';
import { InfluxWriter, defaultWriterOptions, type WriterOptions } from './influx-writer.js';
import { toLineProtocol } from './line-protocol.js';
import { Outbox } from './outbox.js';

/** Who sent a message, as the broker proved it at CONNECT. */
export interface DeviceIdentity {
  deviceId: string;
  residentId: string;
  dong: string;
}

export interface IngestHealth {
  storeWritable: boolean;
  influxReachable: boolean;
  backlog: number;
  lagSeconds: number;
  lastError?: string;
}

export interface Ingest {
  /**
   * Validates a readings payload and makes its good readings durable.
   * Resolves with the per-reading errors once the good ones are on disk (then
   * the broker may PUBACK); rejects when they cannot be kept.
   */
  accept(device: DeviceIdentity, payload: Buffer): Promise<ReadingError[]>;
  health(): IngestHealth;
  close(): Promise<void>;
}

export interface IngestDeps {
  dataDir: string;
  bus: Bus;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  influx: InfluxClient;
  writer?: Partial<WriterOptions>;
}

export function startIngest(deps: IngestDeps): Ingest {
  const { bus, clock, log, metrics } = deps;
  const outbox = new Outbox(join(deps.dataDir, 'outbox.db'));
  const writer = new InfluxWriter(outbox, deps.influx, log, metrics, { ...defaultWriterOptions, ...deps.writer });
  log.info({ backlog: outbox.backlog() }, 'ingest started');

  return {
    async accept(device, payload) {
      metrics.ingestMessages.inc();
      const receivedAt = clock.now();
      const { readings, errors } = parseReadingsPayload(payload, receivedAt);
      for (const e of errors) metrics.ingestRejected.inc({ reason: e.error });
      if (readings.length === 0) return errors;
      const observations: Observation[] = readings.map((r) => ({ ...device, type: r.type, ts: r.ts, receivedAt, fields: r.fields }));
      await outbox.append(observations.map(toLineProtocol), receivedAt);
      for (const o of observations) metrics.ingestAccepted.inc({ type: o.type });
      bus.publish('observations', observations);
      return errors;
    },
    health() {
      const status = writer.getStatus();
      const oldest = outbox.oldestAt();
      return {
        storeWritable: outbox.writable(),
        influxReachable: status.influxReachable,
        backlog: outbox.backlog(),
        lagSeconds: oldest === undefined ? 0 : Math.max(0, (clock.now() - oldest) / 1000),
        ...(status.lastError ? { lastError: status.lastError } : {}),
      };
    },
    async close() {
      await writer.close();
      outbox.close();
    },
  };
}
