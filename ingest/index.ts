import { join } from 'node:path';
import type { Bus } from '../core/bus.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../core/metrics.js';
import type { ObservedMessage } from '../core/schemas/observation.js';
import { parseReadingsPayload, type ReadingError, type ValidReading } from '../core/schemas/readings.js';
import type { InfluxClient } from '../influx/client.js';
import { InfluxWriter, defaultWriterOptions, type WriterOptions } from './influx-writer.js';
import { readingLines } from './line-protocol.js';
import { Outbox, type OutboxEntry, type OutboxOptions } from './outbox.js';
import { ReceiptTimes, payloadDigest, type Receipt } from './receipts.js';

/** Who sent a message, as the broker proved it at CONNECT. */
export interface DeviceIdentity {
  deviceId: string;
  residentId: string;
  dong: string;
}

/** How a message arrived: QoS 1 messages carry an id that a redelivery repeats. */
export interface Delivery {
  qos: number;
  messageId?: number;
}

export interface IngestHealth {
  storeWritable: boolean;
  /** Why the store does not take data (the last append's error), when it does not. */
  storeError?: string;
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
  accept(device: DeviceIdentity, payload: Buffer, delivery?: Delivery): Promise<ReadingError[]>;
  /**
   * Republishes on the bus, in order, the observations of the outbox with
   * `outboxId` > afterId (the alerts engine's durable cursor at start-up).
   * Returns how many.
   */
  replay(afterId: number): number;
  /**
   * The observations with `outboxId` > afterId, in order, up to about `maxReadings` readings
   * (whole messages, so a message may take it over), for a consumer in another process (the
   * split's alerts service pages through them). `through`: the last outbox id the page covers
   * (afterId when there is nothing after it), where the next page starts.
   */
  replayPage(afterId: number, maxReadings: number): ReplayPage;
  health(): IngestHealth;
  close(): Promise<void>;
}

export interface ReplayPage {
  messages: ObservedMessage[];
  through: number;
}

export interface IngestDeps {
  dataDir: string;
  bus: Bus;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  influx: InfluxClient;
  writer?: Partial<WriterOptions>;
  outbox?: Partial<OutboxOptions>;
  /**
   * The highest `outboxId` whose effects the alerts engine has made durable.
   * Rows are deleted only when InfluxDB has them and they are at or below it;
   * without it, rows go as soon as InfluxDB has them.
   */
  consumerCursor?: () => number;
  /** How long a receipt time is reused for a redelivery (see ingest/receipts.ts). */
  redeliveryWindowMs?: number;
}

const defaultOutboxOptions: OutboxOptions = { memoryReadings: 200_000, receiptsKept: 65_536, holdMs: 1000 };
const REDELIVERY_WINDOW_MS = 10 * 60_000;
const REPLAY_CHUNK_READINGS = 10_000;

export function startIngest(deps: IngestDeps): Ingest {
  const { bus, clock, log, metrics } = deps;
  const outbox = new Outbox(join(deps.dataDir, 'outbox.db'), { ...defaultOutboxOptions, ...deps.outbox }, {
    onWait: () => metrics.appendsWaited.inc(),
    onCheckpointError: (message) => log.error(message),
  });
  const windowMs = deps.redeliveryWindowMs ?? REDELIVERY_WINDOW_MS;
  const receipts = new ReceiptTimes(defaultOutboxOptions.receiptsKept, windowMs);
  for (const r of outbox.receipts()) if (clock.now() - r.at <= windowMs) receipts.set(r);
  const writer = new InfluxWriter(outbox, deps.influx, log, metrics, { ...defaultWriterOptions, ...deps.writer }, deps.consumerCursor);
  log.info({ backlog: outbox.backlog(), nextOutboxId: outbox.peekNextId() }, 'ingest started');

  const lagSeconds = () => {
    const oldest = outbox.oldestAfter(writer.writtenThrough());
    return oldest === undefined ? 0 : Math.max(0, (clock.now() - oldest) / 1000);
  };
  const updateGauges = () => {
    metrics.outboxBacklog.set(outbox.backlog());
    metrics.outboxHeld.set(outbox.heldReadings());
    metrics.writerLag.set(lagSeconds());
  };
  const gauges = setInterval(updateGauges, 1000);
  gauges.unref();

  // A literal of fixed shape: spreading the identity into it took 12 % of the platform's CPU
  // in the batch mix when there was one per reading (bench/ingest.ts profile).
  const observed = (device: DeviceIdentity, at: number, readings: readonly ValidReading[], firstOutboxId: number): ObservedMessage => ({
    residentId: device.residentId, deviceId: device.deviceId, dong: device.dong, receivedAt: at, readings, firstOutboxId,
  });

  // Counter children resolved once per type: a labelled inc() hashes its labels on every call.
  const acceptedByType = new Map<string, ReturnType<typeof metrics.ingestAccepted.labels>>();
  const acceptedOf = (type: string) => {
    let counter = acceptedByType.get(type);
    if (!counter) acceptedByType.set(type, (counter = metrics.ingestAccepted.labels(type)));
    return counter;
  };

  return {
    async accept(device, payload, delivery) {
      metrics.ingestMessages.inc();
      let receivedAt = clock.now();
      // A redelivery gets the first receipt time, so readings without `ts` become the same points.
      let firstDelivery = false; // a QoS 1 message seen for the first time: its receipt time may need keeping
      const messageId = delivery && delivery.qos > 0 ? delivery.messageId : undefined;
      if (messageId !== undefined) {
        const first = receipts.firstReceipt(device.deviceId, messageId, payload, receivedAt);
        if (first === undefined) {
          firstDelivery = true;
        } else {
          receivedAt = first;
          metrics.ingestRedeliveries.inc();
        }
      }
      const { readings, errors } = parseReadingsPayload(payload, receivedAt);
      for (const e of errors) metrics.ingestRejected.inc({ reason: e.error });
      if (readings.length === 0) return errors;

      let stampedOnReceipt = false;
      let run = 0; // readings of the same type in a row: batches are mostly of one type
      for (let i = 0; i < readings.length; i++) {
        const type = readings[i]!.type;
        if (readings[i]!.ts === receivedAt) stampedOnReceipt = true; // no ts of its own (or exactly now)
        run++;
        if (readings[i + 1]?.type !== type) {
          acceptedOf(type).inc(run);
          run = 0;
        }
      }
      let receipt: Receipt | undefined;
      if (firstDelivery && stampedOnReceipt) {
        receipt = { deviceId: device.deviceId, messageId: messageId!, digest: payloadDigest(payload), at: receivedAt };
        receipts.set(receipt);
      }
      // One shape for every entry (no spread, no optional key): the spread copy was ~13 % of the CPU in the broker bench.
      const entry: OutboxEntry = { device, at: receivedAt, readings, lines: readingLines(device, readings), receipt };
      const firstId = await outbox.append(entry);
      bus.publish('observations', [observed(device, receivedAt, readings, firstId)]);
      return errors;
    },
    replay(afterId) {
      let count = 0;
      for (let page = this.replayPage(afterId, REPLAY_CHUNK_READINGS); page.messages.length > 0; page = this.replayPage(page.through, REPLAY_CHUNK_READINGS)) {
        for (const m of page.messages) count += m.readings.length;
        bus.publish('observations', page.messages);
      }
      log.info({ afterId, count }, 'replayed observations from the outbox');
      return count;
    },
    replayPage(afterId, maxReadings) {
      const messages: ObservedMessage[] = [];
      let through = afterId;
      let readings = 0;
      // Rows of up to 500 readings each: a few more rows than the readings asked for is enough.
      while (readings < maxReadings) {
        const rows = outbox.messagesAfter(through, Math.max(1, Math.ceil((maxReadings - readings) / 50)));
        if (rows.length === 0) break;
        for (const m of rows) {
          const skip = Math.max(0, through + 1 - m.id); // a row may begin at or before the cursor
          through = Math.max(through, m.id + m.n - 1);
          if (skip >= m.readings.length) continue;
          messages.push(observed(m.device, m.at, skip === 0 ? m.readings : m.readings.slice(skip), m.id + skip));
          readings += m.readings.length - skip;
          if (readings >= maxReadings) break;
        }
      }
      return { messages, through };
    },
    health() {
      const status = writer.getStatus();
      const store = outbox.writable();
      return {
        storeWritable: store.ok,
        ...(store.error ? { storeError: store.error } : {}),
        influxReachable: status.influxReachable,
        backlog: outbox.backlog(),
        lagSeconds: lagSeconds(),
        ...(status.lastError ? { lastError: status.lastError } : {}),
      };
    },
    async close() {
      clearInterval(gauges);
      await writer.close();
      updateGauges();
      await outbox.close();
    },
  };
}
