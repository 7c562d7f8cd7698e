import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { connectInflux } from '../../influx/client.js';
import { readingsTopic } from '../support/devices.js';
import { managedInfluxUrl, managedInfluxdPid, spawnPlatform, type PlatformProcess } from '../support/platform-process.js';
import { ADMIN_PASSWORD, waitFor } from '../support/stack.js';

const PER_MESSAGE = 10;
const WINDOW = 20; // QoS 1 messages in flight, as a gateway pipelines them

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function api<T>(platform: PlatformProcess, path: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(`${platform.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (response.status >= 300) throw new Error(`${path} → ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

describe('a platform killed with SIGKILL mid-stream', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'dh-crash-'));
  const env = { DATA_DIR: dataDir, ADMIN_PASSWORD, MQTT_DEVICE_RATE: '100000', MQTT_DEVICE_BURST: '100000' };
  const running: PlatformProcess[] = [];
  afterAll(async () => {
    for (const p of running) await p.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('has every reading that got PUBACK in InfluxDB after the restart', async () => {
    const first = await spawnPlatform(env);
    running.push(first);
    const { token } = await api<{ token: string }>(first, '/api/login', { username: 'admin', password: ADMIN_PASSWORD });
    const resident = await api<{ id: string }>(first, '/api/residents', { displayName: '충돌 시험', dong: '1111051500' }, token);
    const device = await api<{ id: string; secret: string }>(first, '/api/devices', { residentId: resident.id, kind: 'gateway' }, token);

    const client = await mqtt.connectAsync(first.mqttUrl, {
      clientId: device.id, username: device.id, password: device.secret, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000,
    });
    const acked: number[] = [];
    let connected = true;
    let onClose: () => void = () => {};
    const closed = new Promise<void>((resolve) => (onClose = resolve));
    client.on('close', () => {
      connected = false;
      onClose();
    });
    client.on('error', () => {});
    const base = Date.now() - 20 * 60_000;
    let seq = 0;
    const inFlight = new Set<Promise<void>>();
    const publisher = (async () => {
      while (connected) {
        const readings = Array.from({ length: PER_MESSAGE }, () => ({ type: 'heart_rate', bpm: 70, ts: base + seq++ }));
        const sent: Promise<void> = client
          .publishAsync(readingsTopic(device.id), JSON.stringify({ readings }), { qos: 1 })
          .then(() => void acked.push(...readings.map((r) => r.ts)), () => {})
          .finally(() => inFlight.delete(sent));
        inFlight.add(sent);
        if (inFlight.size >= WINDOW) await Promise.race([...inFlight, closed]);
      }
    })();

    await waitFor(() => acked.length >= 3000, 30_000, 'the publisher to get going');
    const influxdPid = managedInfluxdPid(dataDir);
    await first.kill('SIGKILL');
    await publisher;
    client.end(true);
    const ackedAtKill = [...acked];
    expect(ackedAtKill.length).toBeGreaterThanOrEqual(3000);
    expect(seq).toBeGreaterThan(ackedAtKill.length); // readings were in flight when it died

    // The managed influxd does not outlive its platform.
    expect(influxdPid).toBeGreaterThan(0);
    await waitFor(() => !isAlive(influxdPid!), 15_000, 'the orphaned influxd to exit');

    const second = await spawnPlatform(env);
    running.push(second);
    const influx = await connectInflux({ url: managedInfluxUrl(dataDir), db: 'donghaeng' }, createLogger('silent'));
    const stored = async () => {
      const [series] = await influx.query(`SELECT "bpm" FROM "heart_rate" WHERE "device" = '${device.id}'`);
      return new Set((series?.values ?? []).map((row) => row[0] as number));
    };
    await waitFor(async () => (await stored()).size >= ackedAtKill.length, 30_000, 'the acknowledged readings in InfluxDB');
    const times = await stored();
    const missing = ackedAtKill.filter((ts) => !times.has(ts));
    expect(missing).toEqual([]);
  });
});
