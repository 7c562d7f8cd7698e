import type { MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';
import type { DeviceKind } from '../core/schemas/registry.js';
import { mapConcurrent } from './concurrency.js';
import { closeClient, connectDevice, connected, errorsTopicOf, type Transport } from './connection.js';
import type { SimDevice } from './homes.js';
import { seededRandom, type Random } from './random.js';
import { READINGS_TOPIC, topicOf } from './scenarios/types.js';
import { countDeviceError, drainPubacks, RunStats } from './stats.js';

/** A load home: check-in sensors and a band, the devices that report most often. */
export const LOAD_KIT: readonly DeviceKind[] = ['motion_sensor', 'smart_plug', 'door_sensor', 'smart_band'];

export interface LoadOptions {
  transport: Transport;
  ratePerSecond: number;
  durationMs: number;
  seed: number;
  /** How long to wait for outstanding PUBACKs after the last message [30 s]. */
  drainMs?: number;
  /** Messages awaiting PUBACK beyond which the generator waits rather than pile up more [20,000]. */
  maxInFlight?: number;
  signal?: AbortSignal;
  stats?: RunStats;
}

export interface LoadResult {
  stats: RunStats;
  connectSeconds: number;
  /** Messages the rate asked for that were not sent: the generator or the platform fell behind. */
  behind: number;
}

// Connections opened at once: each costs the broker an scrypt check of the secret.
const CONNECT_CONCURRENCY = 64;
const TICK_MS = 5;

/** A valid, ordinary reading for the kind: load must not turn into an alert storm. */
export function loadReading(kind: DeviceKind, random: Random): string {
  switch (kind) {
    case 'motion_sensor':
      return `{"type":"motion","detected":${random() < 0.7}}`;
    case 'door_sensor':
      return `{"type":"door","open":${random() < 0.5}}`;
    case 'smart_plug':
      return `{"type":"power","watts":${(random() < 0.5 ? 0.5 + random() : 60 + random() * 60).toFixed(1)}}`;
    case 'smart_band':
      return random() < 0.5 ? `{"type":"heart_rate","bpm":${60 + Math.floor(random() * 30)}}` : `{"type":"steps","count":${Math.floor(random() * 8000)}}`;
    default:
      return `{"type":"temperature","celsius":${(36.3 + random()).toFixed(1)}}`;
  }
}

/**
 * Load mode: every device on its own MQTT connection with its own
 * credentials; QoS 1 readings at a fixed total rate, spread round-robin over
 * the devices, for a fixed time; then waits for the PUBACKs and disconnects.
 * Bounded: it stops by itself, and stops generating while too many messages
 * are unacknowledged.
 */
export async function runLoad(devices: readonly SimDevice[], options: LoadOptions): Promise<LoadResult> {
  const stats = options.stats ?? new RunStats();
  const maxInFlight = options.maxInFlight ?? 20_000;
  stats.devices = devices.length;
  stats.phase = 'connecting';

  const connectStarted = performance.now();
  const clients: (MqttClient | undefined)[] = await mapConcurrent(devices, CONNECT_CONCURRENCY, async (device) => {
    const client = connectDevice(device, options.transport);
    let up = false;
    client.on('error', () => {}); // counted below; keeps mqtt.js from throwing an unhandled 'error'
    client.on('connect', () => {
      up = true;
      stats.connected++;
    });
    client.on('close', () => {
      if (!up) return;
      up = false;
      stats.connected--;
      if (stats.phase !== 'closing') stats.disconnects++;
    });
    client.on('message', (_topic, payload) => countDeviceError(stats, payload));
    client.subscribe(errorsTopicOf(device.id), { qos: 1 });
    try {
      await connected(client);
      return client;
    } catch {
      stats.connectFailures++;
      client.end(true);
      return undefined;
    }
  });
  const connectSeconds = (performance.now() - connectStarted) / 1000;
  const lanes = devices.flatMap((device, i) => (clients[i] ? [{ client: clients[i], topic: topicOf(READINGS_TOPIC, device.id), kind: device.kind }] : []));

  const random = seededRandom(options.seed);
  let target = 0;
  let lane = 0;
  stats.phase = 'running';
  stats.runStartedAt = performance.now();
  if (lanes.length > 0) {
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      const tick = () => {
        const elapsed = performance.now() - stats.runStartedAt!;
        target = Math.floor((Math.min(elapsed, options.durationMs) * options.ratePerSecond) / 1000);
        while (stats.sent < target && stats.inFlight < maxInFlight) {
          const { client, topic, kind } = lanes[lane]!;
          lane = (lane + 1) % lanes.length;
          const sentAt = performance.now();
          stats.sent++;
          client.publish(topic, loadReading(kind, random), { qos: 1 }, (err) => {
            if (err) {
              stats.publishErrors++;
            } else {
              stats.ack(sentAt);
            }
          });
        }
        if (elapsed >= options.durationMs) return finish();
        timer = setTimeout(tick, TICK_MS);
      };
      if (options.signal?.aborted) return finish();
      options.signal?.addEventListener('abort', finish, { once: true });
      tick();
    });
  }
  stats.runEndedAt = performance.now();

  await drainPubacks(stats, options.drainMs ?? 30_000);
  stats.phase = 'closing';
  await mapConcurrent(clients, 256, async (client) => {
    if (client) await closeClient(client);
  });
  stats.phase = 'done';
  return { stats, connectSeconds, behind: Math.max(0, target - stats.sent) };
}
