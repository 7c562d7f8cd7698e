import mqtt, { type MqttClient } from 'mqtt';
import type { DeviceKind } from '../core/schemas/registry.js';
import type { Home } from './homes.js';

export interface RunSummary {
  homes: number;
  devices: number;
  sent: number;
  acked: number;
  errors: number;
  failed: number;
}

export interface RunOptions {
  mqttUrl: string;
  durationMs: number;
  random: () => number;
  onError?: (deviceId: string, error: unknown) => void;
  signal?: AbortSignal;
}

/** Connects every device of every home with its own credentials and plays each home's plan over real MQTT. */
export async function runHomes(homes: readonly Home[], options: RunOptions): Promise<RunSummary> {
  const summary: RunSummary = { homes: homes.length, devices: 0, sent: 0, acked: 0, errors: 0, failed: 0 };
  const clients: MqttClient[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    for (const home of homes) {
      const byKind = new Map<DeviceKind, MqttClient>();
      for (const device of home.devices) {
        const client = await mqtt.connectAsync(options.mqttUrl, {
          clientId: device.id, username: device.id, password: device.secret, protocolVersion: 4, clean: true,
          will: { topic: `dh/v1/devices/${device.id}/status`, payload: Buffer.from('{"online":false}'), qos: 1, retain: true },
        });
        await client.subscribeAsync(`dh/v1/devices/${device.id}/errors`, { qos: 1 });
        client.on('message', (_topic, payload) => {
          summary.errors++;
          options.onError?.(device.id, JSON.parse(payload.toString()));
        });
        await client.publishAsync(`dh/v1/devices/${device.id}/status`, JSON.stringify({ online: true, battery: 80 + Math.floor(options.random() * 20) }), { qos: 1, retain: true });
        clients.push(client);
        byKind.set(device.kind, client);
        summary.devices++;
      }
      for (const planned of home.scenario.plan(options.random, options.durationMs)) {
        const client = byKind.get(planned.device);
        const device = home.devices.find((d) => d.kind === planned.device);
        if (!client || !device) continue;
        timers.push(
          setTimeout(() => {
            summary.sent++;
            client
              .publishAsync(`dh/v1/devices/${device.id}/readings`, JSON.stringify(planned.reading), { qos: 1 })
              .then(() => summary.acked++, () => summary.failed++);
          }, planned.atMs),
        );
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.durationMs);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    for (const t of timers) clearTimeout(t);
    await Promise.all(clients.map((c) => c.endAsync().catch(() => {})));
  }
  return summary;
}
