import type { Client, PublishPacket } from 'aedes';
import { z } from 'zod';
import type { Bus } from '../../core/bus.js';
import type { Clock } from '../../core/clock.js';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../core/metrics.js';
import type { ReadingError } from '../../core/schemas/readings.js';
import type { Ingest } from '../../ingest/index.js';
import type { DeviceRateLimiter } from '../limits.js';
import type { ThrottledLog } from '../throttled-log.js';
import { isServiceTopic } from '../../core/service-accounts.js';
import { parseDeviceTopic } from '../topics.js';
import { identities, serviceClients } from './authenticate.js';

const StatusSchema = z.object({
  online: z.boolean(),
  battery: z.number().min(0).max(100).optional(),
  firmware: z.string().max(64).optional(),
  rssi: z.number().int().optional(),
});

export interface AuthorizePublishDeps {
  ingest: Ingest;
  bus: Bus;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  rateLimiter: DeviceRateLimiter;
  refusals: ThrottledLog;
  sendErrors(deviceId: string, errors: ReadingError[]): void;
}

/**
 * Readings messages this hook has taken (kept in the outbox, or dropped over the rate):
 * aedes need not deliver them, since no client may subscribe to a readings topic.
 */
export const takenReadings = new WeakSet<PublishPacket>();

const RATE_LIMITED: ReadingError[] = [{ error: 'rate_limited', message: 'too many messages; this one was not stored, slow down' }];

/**
 * Runs before aedes writes PUBACK (aedes lib/handlers/publish.js), so this is
 * where a reading becomes durable: the callback fires only after the outbox
 * commit. A device may publish only to its own readings and status topics,
 * at its rate. A service of the platform may publish only to the services'
 * topics, which aedes delivers as they are: not readings, no rate (its
 * packets are still capped by size).
 */
export function createAuthorizePublish(deps: AuthorizePublishDeps) {
  const { ingest, bus, clock, log, metrics, rateLimiter, refusals, sendErrors } = deps;
  // Counter children resolved once: a labelled inc() hashes its labels on every message.
  const messagesOf = { readings: metrics.brokerMessages.labels('readings'), status: metrics.brokerMessages.labels('status') };
  return (client: Client | null, packet: PublishPacket, done: (error?: Error | null) => void): void => {
    if (!client) return done(null); // the platform's own publishes (errors topics)
    const device = identities.get(client);
    const service = device ? undefined : serviceClients.get(client); // devices first: nearly every message is one
    if (service) {
      if (!isServiceTopic(packet.topic)) {
        metrics.brokerRejections.inc({ reason: 'publish_not_authorized' });
        refusals('publish_not_authorized', { service, topic: packet.topic.slice(0, 120) }, 'publish refused');
        return done(new Error('not_authorized'));
      }
      packet.retain = false; // the bus keeps no state: a retained alert would replay to every new subscriber
      return done(null);
    }
    const topic = parseDeviceTopic(packet.topic);
    if (!device || !topic || topic.deviceId !== device.deviceId || topic.kind === 'errors') {
      metrics.brokerRejections.inc({ reason: 'publish_not_authorized' });
      refusals('publish_not_authorized', { deviceId: device?.deviceId, topic: packet.topic.slice(0, 120) }, 'publish refused');
      return done(new Error('not_authorized'));
    }
    messagesOf[topic.kind].inc();
    // aedes publishes the will after the connection closed; a will is never rate limited.
    const isWill = client.closed;
    if (!isWill && !rateLimiter.take(device.deviceId)) {
      // PUBACK still goes out (MQTT 3.1.1 cannot refuse one message); the errors topic says it was dropped.
      metrics.brokerRejections.inc({ reason: 'rate_limited' });
      refusals('rate_limited', { deviceId: device.deviceId }, 'device over its message rate; dropping');
      sendErrors(device.deviceId, RATE_LIMITED);
      packet.retain = false;
      if (topic.kind === 'readings') takenReadings.add(packet);
      return done(null);
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);

    if (topic.kind === 'status') {
      let status: z.infer<typeof StatusSchema> | undefined;
      try {
        status = StatusSchema.parse(JSON.parse(payload.toString('utf8')));
      } catch {
        sendErrors(device.deviceId, [{ error: 'bad_json', message: 'status must be {"online": bool, "battery"?: 0-100, ...}' }]);
        packet.retain = false; // keep the last good retained status
        return done(null);
      }
      bus.publish('device-status', { ...device, online: status.online, ...(status.battery === undefined ? {} : { battery: status.battery }), at: clock.now() });
      return done(null);
    }

    packet.retain = false; // readings are kept in the outbox, never as retained messages
    takenReadings.add(packet);
    ingest
      .accept(device, payload, { qos: packet.qos, ...(packet.messageId === undefined ? {} : { messageId: packet.messageId }) })
      .then((errors) => {
        if (errors.length > 0) sendErrors(device.deviceId, errors);
        done(null);
      })
      .catch((err: Error) => {
        // Not durable means no PUBACK: the device keeps the reading and resends it.
        metrics.brokerRejections.inc({ reason: 'store_unavailable' });
        log.error({ err: err.message, deviceId: device.deviceId }, 'outbox append failed; refusing the publish');
        done(new Error('store_unavailable'));
      });
  };
}
